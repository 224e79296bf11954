/**
 * The server under load, over loopback, bounded in time:
 *   npm run bench -- load [--seconds 20] [--clients 1,8,32] [--soak-seconds 300]
 *                         [--ingest-images 2000] [--model DIR] [--note TEXT]
 *
 * `matsearch serve` runs in its own process on a library of the 300 sample emoji. For each client
 * count, that many clients of our own (node:http, keep-alive) search as fast as they can, half by
 * id (JSON) and half by upload (multipart, widths 1, 1/4, 1/8 in turn), while a background ingest
 * of new images runs (POST /api/ingest). Reported: requests, throughput, p50/p99 latency, 503s
 * (the documented answer beyond --max-queue) and every other failure (there should be none).
 * Then a soak (8 clients, ingest and prune of 300 new images over and over, so the library's
 * size stays put) samples the server's RSS every 2 s: start, end, max and the trend.
 * Writes docs/bench/load.{json,md}.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_MODEL_DIR } from '../src/embed/open.js';
import { writeUntrainedModel } from '../src/embed/untrained.js';
import { CONFIG_FILE } from '../src/model/weights.js';
import { Rng } from '../src/util/rng.js';
import { loadReport, type LevelResult, type LoadReport, type SoakResult } from './load-report.js';
import { machine, writeReport } from './util.js';
import { agent, http, multipart, percentile, send, startServe, type Server } from './http.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLES = join(ROOT, 'samples');

/** Resident memory of a process in MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const getJson = async (url: string, path: string) =>
  JSON.parse((await send(url, 'GET', path, {})).body) as Record<string, unknown>;

/** Writes `n` new 64 px images (random blocks) into `dir`. */
async function writeImages(dir: string, n: number, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(64 * 64 * 3);
    const colours = Array.from({ length: 16 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
    for (let p = 0; p < 64 * 64; p++) px.set(colours[((p >> 10) << 2) | ((p & 63) >> 4)]!, p * 3);
    await sharp(px, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toFile(join(dir, `n${String(i).padStart(5, '0')}.png`));
  }
}

interface Tally {
  latencies: { id: number[]; upload: number[] };
  ok: number;
  busy: number;
  failed: Record<string, number>;
}

/** `clients` clients searching until `until` (performance.now() ms). */
async function drive(
  srv: Server,
  clients: number,
  until: number,
  ids: number[],
  queries: Buffer[],
  seed: number,
): Promise<Tally> {
  const t: Tally = { latencies: { id: [], upload: [] }, ok: 0, busy: 0, failed: {} };
  const widths = ['1', '1/4', '1/8'];
  const client = async (c: number) => {
    const rng = new Rng(seed * 1000 + c);
    for (let i = 0; performance.now() < until; i++) {
      const byId = (i + c) % 2 === 0;
      let r;
      if (byId) {
        const body = Buffer.from(JSON.stringify({ id: ids[rng.int(ids.length)], k: 10 }));
        r = await send(
          srv.url,
          'POST',
          '/api/search',
          { 'content-type': 'application/json' },
          body,
        );
      } else {
        const m = multipart(queries[rng.int(queries.length)]!, { k: '10', width: widths[i % 3]! });
        r = await send(srv.url, 'POST', '/api/search', { 'content-type': m.type }, m.body);
      }
      if (r.status === 200) {
        t.ok++;
        t.latencies[byId ? 'id' : 'upload'].push(r.ms);
      } else if (r.status === 503) {
        t.busy++;
        await new Promise((res) => setTimeout(res, 100)); // a polite client backs off
      } else {
        const key = r.status === 0 ? `network error ${r.error}` : String(r.status);
        t.failed[key] = (t.failed[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return t;
}

const summary = (xs: number[]) => ({
  n: xs.length,
  p50: percentile(xs, 50),
  p99: percentile(xs, 99),
  max: xs.length ? Math.max(...xs) : NaN,
});

/** Starts an ingest job; returns a function that polls whether it still runs. */
async function startIngest(srv: Server, prune = false) {
  const r = await send(
    srv.url,
    'POST',
    '/api/ingest',
    { 'content-type': 'application/json' },
    Buffer.from(JSON.stringify({ prune })),
  );
  if (r.status !== 202) throw new Error(`ingest refused: ${r.status} ${r.body}`);
  const url = (JSON.parse(r.body) as { url: string }).url;
  return async () => {
    const j = await getJson(srv.url, url);
    return { running: j['state'] === 'queued' || j['state'] === 'running', job: j };
  };
}

export async function benchLoad(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '20' },
      clients: { type: 'string', default: '1,8,32' },
      'soak-seconds': { type: 'string', default: '300' },
      'ingest-images': { type: 'string', default: '2000' },
      model: { type: 'string' },
      note: { type: 'string' },
    },
  });
  const seconds = Number(v.seconds);
  const levels = v.clients!.split(',').map(Number);
  const soakSeconds = Number(v['soak-seconds']);
  const perIngest = Number(v['ingest-images']);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-load-'));
  const env = { load: loadavg().map((x) => Number(x.toFixed(2))) };
  let srv: Server | undefined;
  try {
    const model =
      v.model ??
      (existsSync(join(DEFAULT_MODEL_DIR, CONFIG_FILE))
        ? DEFAULT_MODEL_DIR
        : await writeUntrainedModel(join(ROOT, '.cache/demo/untrained-model')));
    const incoming = join(tmp, 'incoming');
    mkdirSync(incoming);
    // The sample emoji are the library everyone searches; new images arrive under incoming/.
    const samples = readdirSync(SAMPLES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.png'))
      .map((f) => join(SAMPLES, f));
    const base = join(incoming, 'base');
    mkdirSync(base);
    for (const [i, f] of samples.entries())
      await sharp(f).toFile(join(base, `s${String(i).padStart(3, '0')}.png`));
    const queries = samples.slice(0, 40).map((f) => readFileSync(f));
    for (let l = 0; l < levels.length; l++)
      await writeImages(join(tmp, `level-${l}`), perIngest, 100 + l);
    srv = await startServe(join(tmp, 'lib'), model, ['--root', incoming]);
    const first = await startIngest(srv);
    while ((await first()).running) await new Promise((r) => setTimeout(r, 200));
    const ids = ((await getJson(srv.url, '/api/images?limit=200')).images as { id: number }[]).map(
      (x) => x.id,
    );
    const imagesAtStart = (await getJson(srv.url, '/api/stats')).images as number;
    const rss0 = rssMb(srv.proc.pid!);
    console.log(`library ready: ${ids.length}+ images, server RSS ${rss0.toFixed(0)} MB`);

    const results: LevelResult[] = [];
    for (const [l, clients] of levels.entries()) {
      // New images for this level's ingest, moved in where the server's root can see them.
      renameSync(join(tmp, `level-${l}`), join(incoming, `level-${l}`));
      const poll = await startIngest(srv);
      const t0 = performance.now();
      const until = t0 + seconds * 1000;
      let ingestMs = 0;
      let last = t0;
      const watch = (async () => {
        for (let running = true; running && performance.now() < until;) {
          await new Promise((r) => setTimeout(r, 250));
          running = (await poll()).running;
          const now = performance.now();
          if (running) ingestMs += now - last;
          last = now;
        }
      })();
      const t = await drive(srv, clients, until, ids, queries, l + 1);
      await watch;
      let job = (await poll()).job;
      while ((await poll()).running) await new Promise((r) => setTimeout(r, 200));
      job = (await poll()).job;
      const all = [...t.latencies.id, ...t.latencies.upload];
      results.push({
        clients,
        seconds,
        requests: t.ok + t.busy + Object.values(t.failed).reduce((a, b) => a + b, 0),
        ok: t.ok,
        rps: t.ok / seconds,
        all: summary(all),
        byId: summary(t.latencies.id),
        byUpload: summary(t.latencies.upload),
        busy503: t.busy,
        failed: t.failed,
        ingestOverlap: Math.min(1, ingestMs / (seconds * 1000)),
        ingested: Number((job['summary'] as { added?: number } | null)?.added ?? 0),
      });
      const r = results[results.length - 1]!;
      console.log(
        `${clients} clients: ${r.ok} ok (${r.rps.toFixed(1)}/s), p50 ${r.all.p50.toFixed(0)} ms, p99 ${r.all.p99.toFixed(0)} ms, 503 ${r.busy503}, failed ${JSON.stringify(r.failed)}, ingest ran ${(100 * r.ingestOverlap).toFixed(0)}% of the time`,
      );
    }

    // The soak: steady load, ingest + prune cycles, RSS every 2 s.
    let soak: SoakResult | null = null;
    if (soakSeconds > 0) {
      const pid = srv.proc.pid!;
      const samplesRss: { s: number; mb: number }[] = [];
      const t0 = performance.now();
      const until = t0 + soakSeconds * 1000;
      let cycles = 0;
      const sampler = (async () => {
        while (performance.now() < until) {
          samplesRss.push({ s: (performance.now() - t0) / 1000, mb: rssMb(pid) });
          await new Promise((r) => setTimeout(r, 2000));
        }
        samplesRss.push({ s: (performance.now() - t0) / 1000, mb: rssMb(pid) });
      })();
      const churn = (async () => {
        const dir = join(incoming, 'soak');
        while (performance.now() < until) {
          await writeImages(dir, 300, 1000 + cycles);
          for (const prune of [false, true]) {
            const poll = await startIngest(srv!, prune);
            while ((await poll()).running) await new Promise((r) => setTimeout(r, 250));
            if (!prune) rmSync(dir, { recursive: true, force: true });
          }
          cycles++;
        }
      })();
      const t = await drive(srv, 8, until, ids, queries, 99);
      await Promise.all([sampler, churn]);
      const mbs = samplesRss.map((x) => x.mb);
      // Least-squares trend of RSS over time, MB per minute.
      const n = samplesRss.length;
      const ms = samplesRss.reduce((a, x) => a + x.s, 0) / n;
      const mm = mbs.reduce((a, x) => a + x, 0) / n;
      const cov = samplesRss.reduce((a, x) => a + (x.s - ms) * (x.mb - mm), 0);
      const varS = samplesRss.reduce((a, x) => a + (x.s - ms) ** 2, 0);
      soak = {
        seconds: soakSeconds,
        clients: 8,
        ok: t.ok,
        busy503: t.busy,
        failed: t.failed,
        all: summary([...t.latencies.id, ...t.latencies.upload]),
        ingestCycles: cycles,
        rssStartMb: mbs[0]!,
        rssEndMb: mbs[n - 1]!,
        rssMaxMb: Math.max(...mbs),
        rssTrendMbPerMin: varS > 0 ? (60 * cov) / varS : 0,
        rss: samplesRss,
      };
      console.log(
        `soak ${soakSeconds} s: ${t.ok} ok, RSS ${soak.rssStartMb.toFixed(0)} -> ${soak.rssEndMb.toFixed(0)} MB (max ${soak.rssMaxMb.toFixed(0)}), trend ${soak.rssTrendMbPerMin.toFixed(2)} MB/min, ${cycles} ingest+prune cycles`,
      );
    }
    const report: LoadReport = {
      machine: machine(),
      loadAverageAtStart: env.load,
      note: v.note ?? null,
      model,
      server: 'matsearch serve (default --concurrency 2, --max-queue 32), index in a worker thread',
      libraryImagesAtStart: imagesAtStart,
      ingestImagesPerLevel: perIngest,
      levels: results,
      soak,
      staleSocketRetries: http.staleSocketRetries,
    };
    const out = join(ROOT, 'docs/bench');
    writeReport(join(out, 'load.json'), report, join(out, 'load.md'), loadReport(report));
  } finally {
    if (srv && srv.proc.exitCode === null) {
      const exited = new Promise((r) => srv!.proc.once('exit', r));
      srv.proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    agent.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

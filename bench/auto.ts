/**
 * Width `auto` under load: does the server step the width down as the queue grows, and keep p95
 * within its target, before it ever answers 503?
 *   npm run bench -- auto [--clients 1,2,4,8] [--queries-per-client 12] [--target-ms MS]
 *                         [--quick]
 *
 * `matsearch serve --target-ms T` (its own process, --refine-share 0) on a library of the 35M
 * preset with seeded random weights (where the encode is most of a query's cost, so the width
 * matters; its rankings mean nothing). Clients of our own upload query images naming no width,
 * so the server picks one per request from its measured encode latencies and its queue
 * (src/search/auto-width.ts). For each client count: the widths chosen, server-side and
 * end-to-end p50/p95, 503s and failures. T defaults to 1.25x the width-1 encode the server
 * measured during the warm-up, so one client gets width 1.
 *
 * Quality at each step: the shipped model's mAP@10 at each standard width (in-process, on the
 * samples set, the dial bench's protocol), weighted by the widths the step used. The widths'
 * costs come from the 35M model and their quality from the shipped one: the quality a user of
 * that load would get if the shipped model cost what 35M costs.
 * Writes docs/bench/auto.{json,md}.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR, openEmbedder } from '../src/embed/open.js';
import { ValidationError } from '../src/errors.js';
import { STANDARD_WIDTHS } from '../src/model/nesting.js';
import {
  buildLibrary,
  imageFiles,
  quality,
  QueryImages,
  random35M,
  readConfig,
  SAMPLES,
  stopServe,
} from './dial.js';
import { agent, multipart, percentile, send, startServe, type Server } from './http.js';
import { machine, mdTable, writeReport } from './util.js';

interface StepRow {
  readonly clients: number;
  readonly queries: number;
  readonly widths: Record<string, number>;
  readonly serverP50: number;
  readonly serverP95: number;
  readonly endToEndP50: number;
  readonly endToEndP95: number;
  readonly withinTarget: number;
  readonly rejected503: number;
  readonly failed: Record<string, number>;
  /** The shipped model's mAP@10 weighted by this step's widths (samples set). */
  readonly mapAt10: number;
  readonly reasons: Record<string, string>;
}

const r2 = (x: number) => +x.toFixed(2);

async function stats(srv: Server): Promise<Record<string, number>> {
  const r = await send(srv.url, 'GET', '/api/stats', {});
  return (JSON.parse(r.body) as { encode_ms: Record<string, number> }).encode_ms;
}

/** `clients` clients uploading `images` with no width until none is left. */
async function step(srv: Server, clients: number, images: readonly Buffer[], targetMs: number) {
  const e2e: number[] = [];
  const server: number[] = [];
  const widths: Record<string, number> = {};
  const reasons: Record<string, string> = {};
  const failed: Record<string, number> = {};
  let rejected = 0;
  let next = 0;
  const client = async () => {
    while (next < images.length) {
      const m = multipart(images[next++]!, { k: '10', refine: 'false' });
      const r = await send(srv.url, 'POST', '/api/search', { 'content-type': m.type }, m.body, {
        timeoutMs: 300_000,
      });
      if (r.status === 503) rejected++;
      if (r.status !== 200) {
        const key = r.status === 0 ? `network error ${r.error}` : `${r.status}`;
        failed[key] = (failed[key] ?? 0) + 1;
        continue;
      }
      const j = JSON.parse(r.body) as {
        widths: { query: string };
        width_reason: string;
        timings_ms: { total: number };
      };
      e2e.push(r.ms);
      server.push(j.timings_ms.total);
      widths[j.widths.query] = (widths[j.widths.query] ?? 0) + 1;
      reasons[j.widths.query] ??= j.width_reason;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return {
    e2e,
    server,
    widths,
    reasons,
    failed,
    rejected,
    within: e2e.filter((ms) => ms <= targetMs).length,
  };
}

export async function benchAuto(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    options: {
      clients: { type: 'string', default: '1,2,4,8' },
      'queries-per-client': { type: 'string' },
      'target-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const clients = v.clients!.split(',').map(Number);
  if (clients.some((c) => !Number.isInteger(c) || c < 1))
    throw new ValidationError('--clients must list positive integers, e.g. 1,2,4,8');
  const perClient = Number(v['queries-per-client'] ?? (v.quick ? 4 : 12));
  const started = performance.now();
  const loadStart = +loadavg()[0]!.toFixed(2);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-auto-'));
  const samples = imageFiles(SAMPLES);
  try {
    // Quality per standard width: the shipped model on the samples set.
    const shipped = readConfig(DEFAULT_MODEL_DIR);
    const q = new Map<string, number>();
    {
      const embedder = await openEmbedder(DEFAULT_MODEL_DIR);
      try {
        const lib = join(tmp, 'lib-shipped');
        await buildLibrary(embedder, lib, SAMPLES);
        for (const [w, row] of await quality(embedder, lib, STANDARD_WIDTHS)) q.set(w, row.mapAt10);
      } finally {
        await embedder.close();
      }
    }

    // The 35M library and server.
    const bigDir = await random35M();
    const big = readConfig(bigDir);
    const bigLib = join(tmp, 'lib-35m');
    const bigRoot = join(tmp, 'big-root');
    mkdirSync(bigRoot);
    {
      const embedder = await openEmbedder(bigDir);
      try {
        samples
          .filter((_, i) => i % 10 === 0)
          .forEach((f, i) => copyFileSync(f, join(bigRoot, `${i}.png`)));
        await buildLibrary(embedder, bigLib, bigRoot);
      } finally {
        await embedder.close();
      }
    }
    const images = await QueryImages.from(samples);
    // Warm-up on a server without a target: every width's export and a measured latency.
    let targetMs = v['target-ms'] === undefined ? NaN : Number(v['target-ms']);
    const warm = async (srv: Server) => {
      for (const w of STANDARD_WIDTHS)
        for (const img of await images.take(3)) {
          const m = multipart(img, { width: w, k: '10', refine: 'false' });
          const r = await send(srv.url, 'POST', '/api/search', { 'content-type': m.type }, m.body, {
            timeoutMs: 300_000,
          });
          if (r.status !== 200) throw new Error(`warm-up at ${w}: ${r.status} ${r.body}`);
        }
      return stats(srv);
    };
    if (Number.isNaN(targetMs)) {
      const probe = await startServe(bigLib, bigDir, ['--refine-share', '0']);
      try {
        const enc = await warm(probe);
        targetMs = Math.round(1.25 * enc['1']!);
      } finally {
        await stopServe(probe);
      }
    }
    if (!(targetMs > 0)) throw new ValidationError('--target-ms must be a positive number');
    console.log(`auto: target ${targetMs} ms`);
    const srv = await startServe(bigLib, bigDir, [
      '--refine-share',
      '0',
      '--target-ms',
      String(targetMs),
    ]);
    const rows: StepRow[] = [];
    let encodeMs: Record<string, number> = {};
    try {
      encodeMs = await warm(srv);
      for (const c of clients) {
        const s = await step(srv, c, await images.take(c * perClient), targetMs);
        const n = s.e2e.length;
        const mapAt10 =
          Object.entries(s.widths).reduce((sum, [w, k]) => sum + (q.get(w) ?? NaN) * k, 0) /
          Math.max(1, n);
        const row: StepRow = {
          clients: c,
          queries: n,
          widths: s.widths,
          serverP50: r2(percentile(s.server, 50)),
          serverP95: r2(percentile(s.server, 95)),
          endToEndP50: r2(percentile(s.e2e, 50)),
          endToEndP95: r2(percentile(s.e2e, 95)),
          withinTarget: +(s.within / Math.max(1, n)).toFixed(3),
          rejected503: s.rejected,
          failed: s.failed,
          mapAt10: +mapAt10.toFixed(4),
          reasons: s.reasons,
        };
        rows.push(row);
        console.log(
          `  ${c} client(s): widths ${JSON.stringify(s.widths)}, end to end p50/p95 ` +
            `${row.endToEndP50}/${row.endToEndP95} ms (target ${targetMs}), 503s ${s.rejected}, ` +
            `mAP@10 ${(100 * mapAt10).toFixed(1)}%`,
        );
      }
    } finally {
      await stopServe(srv);
    }
    const result = {
      bench: 'auto',
      quick: v.quick === true,
      machine: machine(),
      load: { start: loadStart, end: +loadavg()[0]!.toFixed(2) },
      minutes: +((performance.now() - started) / 60000).toFixed(1),
      targetMs,
      costModel: big.modelId,
      qualityModel: shipped.modelId,
      encodeMsAtStart: encodeMs,
      qualityByWidth: Object.fromEntries(q),
      rows,
    };
    writeReport('docs/bench/auto.json', result, 'docs/bench/auto.md', report(result));
  } finally {
    agent.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function report(r: {
  quick: boolean;
  machine: ReturnType<typeof machine>;
  load: { start: number; end: number };
  minutes: number;
  targetMs: number;
  costModel: string;
  qualityModel: string;
  encodeMsAtStart: Record<string, number>;
  qualityByWidth: Record<string, number>;
  rows: StepRow[];
}): string {
  const m = r.machine;
  const pct = (x: number) => (100 * x).toFixed(1);
  const table = mdTable(
    [
      'clients',
      'queries',
      'widths chosen',
      'server p50 / p95 ms',
      'end to end p50 / p95 ms',
      'within target',
      '503s',
      'other failures',
      `mAP@10 % (${r.qualityModel}, samples)`,
    ],
    r.rows.map((x) => [
      x.clients,
      x.queries,
      Object.entries(x.widths)
        .map(([w, k]) => `${w}: ${k}`)
        .join(', '),
      `${x.serverP50} / ${x.serverP95}`,
      `${x.endToEndP50} / ${x.endToEndP95}`,
      `${pct(x.withinTarget)}%`,
      x.rejected503,
      Object.values(x.failed).reduce((s, k) => s + k, 0) - x.rejected503,
      pct(x.mapAt10),
    ]),
  );
  const reasons = r.rows
    .map((x) => `- ${x.clients} client(s): ${Object.values(x.reasons)[0] ?? '(none)'}`)
    .join('\n');
  return (
    `# Width auto under load${r.quick ? ' (QUICK RUN)' : ''}\n\n` +
    `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; 1-minute load ${r.load.start} at ` +
    `the start, ${r.load.end} at the end; ${r.minutes} min.\n\n` +
    `\`matsearch serve --target-ms ${r.targetMs}\` on a library of ${r.costModel} (the 35M ` +
    `preset, random weights: cost only). Clients upload query images naming no width, one ` +
    `after another, so the server picks each request's width from its measured encode latency ` +
    `and the queue ahead (src/search/auto-width.ts). Encode latency the server measured after ` +
    `the warm-up (ms): ${Object.entries(r.encodeMsAtStart)
      .map(([w, ms]) => `${w} ${ms}`)
      .join(', ')}. Quality: ${r.qualityModel}'s mAP@10 at each width on the samples set ` +
    `(${Object.entries(r.qualityByWidth)
      .map(([w, x]) => `${w} ${pct(x)}%`)
      .join(', ')}), weighted by the widths each step used.\n\n` +
    `${table}\n\nA reason as the server gave it, per step:\n\n${reasons}\n`
  );
}

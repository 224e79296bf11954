/**
 * Resident memory of `matsearch ingest` and `matsearch serve` per model config.
 *   npm run bench -- memory [--configs 35M,135M] [--files 8]
 *
 * For each config, a model with random weights (speed and memory do not depend on them) at the
 * preset's 224 px input is saved to a temporary folder. Then, each a new process:
 *   - ingest of `--files` 12 MP photos (photos-12mp.ts) with an empty export cache (tfjs loaded
 *     to export the width-1 graph), then again into a fresh library with the cache filled;
 *   - serve on that library: its RSS once listening, after one search, and its peak.
 * The encoder's worker threads are part of the process, so their sessions count. Writes
 * docs/bench/memory.{json,md}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/model/backend.js';
import { presetConfig } from '../src/model/config.js';
import { MatMambaVision } from '../src/model/vision.js';
import { saveModel } from '../src/model/weights.js';
import { photos12mp } from './photos-12mp.js';
import { machine, mdTable, positiveInts, writeReport } from './util.js';

const DIST = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(DIST, 'src', 'cli', 'main.js');
const MAX_RSS = join(DIST, 'bench', 'max-rss.js');

/** Peak RSS (MB) and wall seconds of one CLI run. */
function peak(args: string[], env: NodeJS.ProcessEnv): { mb: number; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', MAX_RSS, CLI, ...args], {
    encoding: 'utf8',
    env,
  });
  if (r.status !== 0) throw new Error(`matsearch ${args[0]} failed: ${r.stderr}`);
  const kb = Number(/max-rss-kb (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { mb: Math.round(kb / 1024), seconds: +((performance.now() - t0) / 1000).toFixed(1) };
}

/** VmRSS and VmHWM of a process, in MB. */
function status(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (k: string) => Math.round(Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1]) / 1024);
  return { rss: mb('VmRSS'), hwm: mb('VmHWM') };
}

/** Serves the library, searches once, and reports its memory. */
async function serve(lib: string, model: string, query: string, env: NodeJS.ProcessEnv) {
  const port = 18000 + Math.floor(Math.random() * 2000);
  const args = [CLI, 'serve', '--library', lib, '--model', model, '--port', String(port)];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
      const ok = await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 1200) throw new Error(`serve did not answer in 2 min: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const idle = status(child.pid!);
    const form = new FormData();
    form.append('image', new Blob([readFileSync(query)]), 'q.jpg');
    const r = await fetch(`${url}/api/search`, { method: 'POST', body: form });
    if (!r.ok) throw new Error(`search answered ${r.status}: ${await r.text()}`);
    const after = status(child.pid!);
    return { listeningMb: idle.rss, afterSearchMb: after.rss, peakMb: after.hwm };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

export async function benchMemory(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      configs: { type: 'string', default: '35M,135M' },
      files: { type: 'string', default: '8' },
    },
  });
  const [nFiles] = positiveInts(values, ['files']) as [number];
  const { files } = await photos12mp(resolve('.cache/bench-photos'), nFiles);
  const photos = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  const rows = [];
  const load = [loadavg()[0]!];
  try {
    // A folder of just the first `files` photos.
    for (const f of files) spawnSync('cp', [f, photos]);
    await initBackend({ purpose: 'inference' });
    for (const name of values.configs.split(',')) {
      const tmp = mkdtempSync(join(tmpdir(), `bench-memory-${name}-`));
      try {
        const env = { ...process.env, MATSEARCH_CACHE_DIR: join(tmp, 'cache') };
        const model = join(tmp, 'model');
        const m = MatMambaVision.create(presetConfig(name, { nClasses: 0 }), 0);
        saveModel(m, model, { name: `random-${name}` });
        m.dispose();
        const lib = (i: number) => ['--library', join(tmp, `lib-${i}`), '--model', model];
        const exporting = peak(['ingest', photos, ...lib(0), '--json'], env);
        const cached = peak(['ingest', photos, ...lib(1), '--json'], env);
        const s = await serve(join(tmp, 'lib-1'), model, files[0]!, env);
        rows.push({ config: name, ingestExporting: exporting, ingestCached: cached, serve: s });
        console.log(name, JSON.stringify(rows.at(-1)));
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(photos, { recursive: true, force: true });
  }
  load.push(loadavg()[0]!);
  const mc = machine();
  const md =
    `# Memory of ingest and serve\n\n` +
    `\`npm run bench -- memory\` on ${mc.cpu} (${mc.cores} cores, ${mc.node}), ${mc.date}; load ` +
    `average ${load.map((l) => l.toFixed(2)).join(' -> ')}. Random weights at each preset's 224 px ` +
    `input, width 1; ingest of ${nFiles} 12 MP photos; RSS includes the encoder's worker threads ` +
    `(one ONNX session each).\n\n` +
    mdTable(
      [
        'config',
        'ingest, exporting (peak MB, s)',
        'ingest, export cached (peak MB, s)',
        'serve listening (MB)',
        'serve after a search (MB)',
        'serve peak (MB)',
      ],
      rows.map((r) => [
        r.config,
        `${r.ingestExporting.mb} (${r.ingestExporting.seconds} s)`,
        `${r.ingestCached.mb} (${r.ingestCached.seconds} s)`,
        r.serve.listeningMb,
        r.serve.afterSearchMb,
        r.serve.peakMb,
      ]),
    );
  writeReport(
    'docs/bench/memory.json',
    { machine: mc, load, files: nFiles, rows },
    'docs/bench/memory.md',
    md,
  );
}

/**
 * The CLI ends promptly after an ingest whose slow files passed the decode timeout: their
 * decoder processes are killed at the timeout, and none outlives the CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.js';
import { saveTestModel, slowSvg, writeImages } from './fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir: string;

before(async () => {
  await setup();
  dir = mkdtempSync(join(tmpdir(), 'decode-exit-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Pids of live processes whose environment holds `tag` (the CLI's decoders inherit it). */
function tagged(tag: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/environ`, 'latin1').includes(tag)) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(p));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test('the CLI exits promptly after an ingest whose slow SVGs timed out, leaving no decoder', async () => {
  const photos = join(dir, 'photos');
  await writeImages(photos, 3, 5);
  // Seconds of librsvg work each, which libvips' own timeout cannot interrupt.
  for (let i = 0; i < 3; i++) writeFileSync(join(photos, `slow-${i}.svg`), slowSvg(200, i));
  const modelDir = saveTestModel(join(dir, 'model'));
  const tag = `MATSEARCH_DECODE_EXIT_TEST=${process.pid}-${Date.now()}`;
  const [k, v] = tag.split('=') as [string, string];
  const child = spawn(
    process.execPath,
    [
      CLI,
      'ingest',
      photos,
      '--library',
      join(dir, 'lib'),
      '--model',
      modelDir,
      '--decode-timeout',
      '1',
      '--json',
    ],
    { env: { ...process.env, [k]: v }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let doneAt = 0;
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (!doneAt && /"added"/.test(stdout)) doneAt = performance.now();
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const hang = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((r) => child.once('close', r));
  clearTimeout(hang);
  const gapMs = performance.now() - doneAt;
  const left = tagged(tag);
  for (const pid of left) process.kill(pid, 'SIGKILL');
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout) as { added: number };
  assert.equal(summary.added, 3, stdout);
  assert.deepEqual(left, [], 'decoder processes outlived the CLI');
  // Unkilled, each SVG's render would keep the CLI alive for seconds after its summary.
  assert.ok(gapMs < 3000, `the CLI exited ${gapMs} ms after printing its summary`);
  console.log(`decode-exit: the CLI exited ${Math.round(gapMs)} ms after its summary`);
});

test('a decoder ends with its parent when the parent is killed mid-decode', async () => {
  const pool = new URL('../../ingest/decode-pool.js', import.meta.url).href;
  const svg = slowSvg(); // seconds of librsvg work
  const script = `
    const { decodePool } = await import(${JSON.stringify(pool)});
    const o = { maxPixels: 1e8, timeoutMs: 600000, thumbnailSize: 64, inputSize: 16, inputChannels: 3, work: { width: 64, height: 64 } };
    decodePool.decode(Buffer.from(${JSON.stringify(svg)}), o, false).catch(() => {});
    const t = setInterval(() => {
      const [pid] = decodePool.busyPids();
      // Reported once loaded and decoding (killed while loading, it would fail to start anyway).
      if (pid) { clearInterval(t); setTimeout(() => console.log(pid), 1000); }
    }, 5);`;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = await new Promise<number>((resolve) =>
    parent.stdout.setEncoding('utf8').once('data', (c: string) => resolve(Number(c.trim()))),
  );
  assert.ok(pid > 0);
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('close', r));
  // The decoder sees its IPC channel close and exits, whatever librsvg is doing.
  let alive = true;
  for (let i = 0; i < 20 && alive; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      alive = stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      alive = false;
    }
  }
  if (alive) process.kill(pid, 'SIGKILL');
  assert.equal(alive, false, `decoder ${pid} outlived its killed parent by 1 s`);
});

/**
 * What one decode may cost: memory is budgeted in bytes (pixels x channels x bytes per sample),
 * per file and across the process; and the decode timeout stops libvips' work, not only the wait.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DECODE_DEFAULTS, decodeBytes, decodeInput, DecodeError } from '../../ingest/decode.js';
import { decodePool } from '../../ingest/decode-pool.js';
import { slowSvg } from './fixtures.js';

let dir: string;
const opts = { ...DECODE_DEFAULTS, inputSize: 32, inputChannels: 3 };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'decode-limits-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Noise that compresses badly and takes a while to decode. */
function noise(w: number, h: number, channels: number): Buffer {
  const b = Buffer.alloc(w * h * channels);
  for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
  return b;
}

test('a 16-bit RGBA interlaced PNG is refused by its decoded bytes, under the pixel cap', async () => {
  // 2000 x 2000 = 4 MP (far under the 100 MP cap) but 4 channels x 2 bytes: 32 MB decoded.
  const png = await sharp({
    create: { width: 2000, height: 2000, channels: 4, background: '#336699aa' },
  })
    .toColourspace('rgb16')
    .png({ progressive: true, compressionLevel: 1 })
    .toBuffer();
  const meta = await sharp(png).metadata();
  assert.equal(meta.depth, 'ushort');
  assert.equal(meta.channels, 4);
  const limits = { ...opts, maxDecodeBytes: 16 * 1024 * 1024 };
  for (const run of [() => decodeBytes(png, limits), () => decodeInput(png, limits)]) {
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof DecodeError, String(err));
      assert.match(err.message, /32\.0 MB to decode.*16\.8 MB/);
      return true;
    });
  }
  // Within the default budget it decodes.
  const ok = await decodeBytes(png, opts);
  assert.equal(ok.width, 2000);
});

/** CPU seconds a process has used (user + system), or null once it is gone (or a zombie). */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return null;
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

// libvips' timeout stops a streamed decode, but not a loader that reads the whole frame first
// (an interlaced PNG, as here): its decoder process is killed at the timeout.
test('the decode timeout stops the decode itself: libvips is idle soon after it fires', async () => {
  const w = 8000;
  // Interlaced: libvips decodes the whole frame before any resize can start.
  const png = await sharp(noise(w, w, 3), { raw: { width: w, height: w, channels: 3 } })
    .png({ compressionLevel: 1, progressive: true })
    .toBuffer();
  // Oracle: the CPU time the whole decode takes (here, no limit: in this process).
  const c0 = process.cpuUsage();
  await decodeBytes(png, { ...opts, timeoutMs: 0 });
  const c1 = process.cpuUsage(c0);
  const fullCpu = (c1.user + c1.system) / 1e6;
  // Machines differ (0.67 CPU s on CI, 1.3 here): the timeout is a quarter of this machine's whole
  // decode, so a decode left running would use the other three quarters after it fires.
  assert.ok(fullCpu > 0.25, `the slow image decoded in ${fullCpu} CPU s: not slow enough to test`);
  const timeoutMs = Math.max(50, Math.min(250, Math.round((fullCpu * 1000) / 4)));
  // A loaded decoder first (a timeout under a second always decodes in one), so that what it
  // uses below is decoding, not loading sharp.
  await decodeBytes(
    await sharp(noise(8, 8, 3), { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer(),
    { ...opts, timeoutMs: 900 },
  );
  let pid: number | undefined;
  const abandoned = decodeBytes(png, { ...opts, timeoutMs });
  while (pid === undefined) {
    await new Promise((r) => setImmediate(r));
    pid = decodePool.busyPids()[0];
  }
  const base = cpuSeconds(pid)!;
  await assert.rejects(abandoned, /abandoned/);
  // Idle: the decoder is gone, or its CPU time stopped growing over 300 ms. Killed, it stops at
  // once; left running, it goes on until the whole decode is done.
  let last = cpuSeconds(pid);
  let used = (last ?? base) - base;
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = cpuSeconds(pid);
    if (now === null || now === last) break;
    last = now;
    used = now - base;
  }
  assert.ok(
    used < 0.6 * fullCpu,
    `the decoder used ${used} CPU s after the timeout fired (a whole decode takes ${fullCpu})`,
  );
  assert.equal(cpuSeconds(pid), null, `decoder ${pid} still runs after its timeout`);
  console.log(
    `decode-timeout: a whole decode ${fullCpu.toFixed(2)} CPU s; after the timeout ${used.toFixed(2)}`,
  );
});

test('a query decode (decodeInput) of a slow SVG is killed at its timeout too', async () => {
  // Seconds of librsvg work, which libvips' timeout cannot stop.
  const svg = Buffer.from(slowSvg());
  let pid: number | undefined;
  const query = decodeInput(svg, { ...opts, timeoutMs: 500 });
  while (pid === undefined) {
    await new Promise((r) => setImmediate(r));
    pid = decodePool.busyPids()[0];
  }
  await assert.rejects(query, (err: unknown) => {
    assert.ok(err instanceof DecodeError, String(err));
    assert.match(err.message, /took over 500 ms and was abandoned/);
    assert.deepEqual(err.limit, { kind: 'timeout', value: 500 });
    return true;
  });
  // Killed with it: gone (or a zombie about to be reaped) once the query has failed.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(cpuSeconds(pid), null, `decoder ${pid} still runs after its timeout`);
});

/**
 * Decode parts of `npm run bench -- exhaustion`:
 *
 *   slow    4 slow images (6000 px interlaced noise PNGs) abandoned at a 1 s decode timeout,
 *           then 20 normal files: how long the normal files take, against 20 on their own
 *   memory  16 images of 40 MP decoded 4 at a time (as an ingest does), and one 16-bit RGBA
 *           interlaced PNG at 100 MP: peak RSS of each
 */
import sharp from 'sharp';
import { DECODE_DEFAULTS, decodeBytes } from '../ingest/decode.js';
import { decodePool } from '../ingest/decode-pool.js';

const opts = { ...DECODE_DEFAULTS, inputSize: 64, inputChannels: 3 };
const mb = () => Math.round(process.memoryUsage().rss / 1e6);

/** Peak RSS (MB) while `work` runs, sampled every 20 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ peakMb: number; startMb: number }> {
  const startMb = mb();
  let peakMb = startMb;
  const t = setInterval(() => (peakMb = Math.max(peakMb, mb())), 20);
  try {
    await work();
  } finally {
    clearInterval(t);
  }
  return { peakMb: Math.max(peakMb, mb()), startMb };
}

async function normals(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await sharp({
        create: {
          width: 800,
          height: 600,
          channels: 3,
          background: `#${(i * 40503).toString(16).padStart(6, '0').slice(0, 6)}`,
        },
      })
        .jpeg()
        .toBuffer(),
    );
  return out;
}

export async function slow() {
  const w = 6000;
  const noise = Buffer.alloc(w * w * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const slowPng = await sharp(noise, { raw: { width: w, height: w, channels: 3 } })
    .png({ compressionLevel: 1, progressive: true })
    .toBuffer();
  const files = await normals(20);
  const timeNormals = async () => {
    const t0 = performance.now();
    for (const f of files) await decodeBytes(f, opts);
    return Math.round(performance.now() - t0);
  };
  const aloneMs = await timeNormals();
  const t0 = performance.now();
  const abandoned = await Promise.allSettled(
    [0, 1, 2, 3].map(() => decodeBytes(slowPng, { ...opts, timeoutMs: 1000 })),
  );
  const abandonedAfterMs = Math.round(performance.now() - t0);
  const afterSlowMs = await timeNormals();
  let idleMs = 0;
  // Idle: nothing decoding here, nor in a decoder process (a killed one is gone).
  while (sharp.counters().process > 0 || decodePool.busyPids().length > 0)
    await new Promise((r) => setTimeout(r, 10));
  idleMs = Math.round(performance.now() - t0);
  return {
    part: 'slow',
    slowFiles: 4,
    timedOut: abandoned.filter((a) => a.status === 'rejected').length,
    abandonedAfterMs,
    normalFiles: files.length,
    normalAloneMs: aloneMs,
    normalAfterSlowMs: afterSlowMs,
    libvipsIdleAfterMs: idleMs,
  };
}

export async function memory() {
  // 40 MP each, 16 distinct (solid colours compress to almost nothing, as a bomb would).
  const big: Buffer[] = [];
  for (let i = 0; i < 16; i++)
    big.push(
      await sharp({
        create: { width: 8000, height: 5000, channels: 3, background: { r: i * 15, g: 99, b: 7 } },
      })
        .png()
        .toBuffer(),
    );
  const many = await peakRss(async () => {
    for (let s = 0; s < big.length; s += 4)
      await Promise.all(big.slice(s, s + 4).map((b) => decodeBytes(b, opts)));
  });
  const deep = await sharp({
    create: { width: 10000, height: 10000, channels: 4, background: '#336699aa' },
    limitInputPixels: false,
  })
    .toColourspace('rgb16')
    .png({ progressive: true })
    .toBuffer();
  let deepResult = 'decoded';
  const one = await peakRss(async () => {
    await decodeBytes(deep, opts).catch((e: Error) => (deepResult = e.message));
  });
  return {
    part: 'memory',
    fortyMp: { files: 16, atOnce: 4, fileKb: Math.round(big[0]!.length / 1024), ...many },
    rgba16Interlaced100Mp: { fileKb: Math.round(deep.length / 1024), result: deepResult, ...one },
  };
}

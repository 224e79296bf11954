/**
 * Where ingest's CPU goes beyond the decode, per 12 MP file: each stage of the product's own
 * pipeline run alone, one file at a time, on the bench photos, timed as process CPU (user +
 * system, every thread: libvips', libuv's and the encoder's too). Part of the ingest bench
 * (ingest-photos.ts), which sets these beside the measured CPU of whole runs.
 */
import { readFileSync } from 'node:fs';
import sharp from '../src/util/sharp.js';
import { contentHash, DECODE_DEFAULTS, workBox } from '../ingest/decode.js';
import { decodeFrame, encodeThumbnail, type FrameOptions } from '../ingest/decode-frame.js';
import { openEmbedder } from '../src/embed/open.js';
import { preprocessImage } from '../src/runtime/preprocess.js';

export interface StageCost {
  readonly stage: string;
  /** CPU ms per file (median of the reps' means). */
  readonly cpuMs: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU ms per call of `fn` over every input, the median of `reps` passes. */
async function perCall<T>(inputs: readonly T[], reps: number, fn: (x: T) => Promise<unknown>) {
  const means: number[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = cpuNow();
    for (const x of inputs) await fn(x);
    means.push((cpuNow() - c0) / inputs.length);
  }
  return +means.sort((a, b) => a - b)[reps >> 1]!.toFixed(2);
}

/**
 * The stages ingest runs for each file, as ingest runs them (decode.ts, decode-frame.ts), on
 * the first `n` photos. The encoder's cost is per image at ingest's batch of 16.
 */
export async function profileStages(
  paths: readonly string[],
  modelDir: string,
  n = 40,
  reps = 3,
): Promise<StageCost[]> {
  const files = paths.slice(0, n).map((p) => readFileSync(p));
  const embedder = await openEmbedder(modelDir);
  try {
    const pairs: { bytes: Buffer; o: FrameOptions }[] = [];
    for (const bytes of files) {
      const o = { ...DECODE_DEFAULTS, inputSize: embedder.inputSize };
      const work = workBox(await sharp(bytes).metadata(), o);
      pairs.push({ bytes, o: { ...o, inputChannels: embedder.inputChannels, work } });
    }
    // Each file's work image, as ingest decodes it (oriented, shrunk on load to the work box).
    const raws = await Promise.all(
      pairs.map(({ bytes, o }) =>
        sharp(bytes)
          .rotate()
          .resize(o.work.width, o.work.height, { fit: 'fill' })
          .raw()
          .toBuffer({ resolveWithObject: true }),
      ),
    );
    const work = ({ data, info }: (typeof raws)[number]) =>
      ({ data, width: info.width, height: info.height, channels: 3 }) as const;
    const toInput = (r: (typeof raws)[number]) =>
      preprocessImage(work(r), {
        size: embedder.inputSize,
        channels: embedder.inputChannels === 1 ? 1 : 3,
      });
    const inputs = await Promise.all(raws.map(toInput));
    const batches = Array.from({ length: Math.ceil(inputs.length / 16) }, (_, i) =>
      inputs.slice(i * 16, i * 16 + 16),
    );
    await embedder.embed(batches[0]!, 1); // the session starts outside the timing
    const encodeMs = await perCall(batches, reps, (b) => embedder.embed(b, 1));
    const decodeOnly = await perCall(files, reps, (b) => sharp(b).resize(64, 64).raw().toBuffer());
    const decodeInput = await perCall(pairs, reps, ({ bytes, o }) => decodeFrame(bytes, o, false));
    const input = await perCall(raws, reps, toInput);
    return [
      { stage: 'decode only (the bound: 64 px, shrink-on-load)', cpuMs: decodeOnly },
      {
        stage: 'sha256 of the bytes',
        cpuMs: await perCall(files, reps, async (b) => contentHash(b)),
      },
      {
        stage: 'header (sharp metadata)',
        cpuMs: await perCall(files, reps, (b) => sharp(b).metadata()),
      },
      {
        stage: 'decode to the work image (shrink-on-load)',
        cpuMs: +(decodeInput - input).toFixed(2),
      },
      { stage: 'model input from the work image (a sharp resize)', cpuMs: input },
      {
        stage: 'thumbnail from the work image (JPEG q80)',
        cpuMs: await perCall(raws, reps, (r) =>
          encodeThumbnail(r.data, work(r), DECODE_DEFAULTS.thumbnailSize),
        ),
      },
      { stage: 'encoder, per image at batch 16', cpuMs: +(encodeMs / 16).toFixed(2) },
    ];
  } finally {
    await embedder.close();
  }
}

/**
 * The int8 encoder (quantize.ts) beside fp32, in one run.
 *   npm run bench -- encoder --only int8 [--configs tiny,35M,135M] [--reps 3] [--batches 1,32]
 *
 * Per config (random weights; speed does not depend on them) and standard width, batch 1 and 32:
 * one onnxruntime session on one thread per precision (what each encoder worker runs, in
 * micro-batches of 4), the two interleaved rep by rep: ms per image. Fidelity: the cosine of each
 * int8 embedding to its fp32 twin on the batch's images (random, normalised), mean and minimum.
 * Writes docs/bench/encoder-int8.{json,md}. Medians of the reps, min-max in brackets.
 */
import { loadavg } from 'node:os';
import { initBackend } from '../src/model/backend.js';
import { presetConfig } from '../src/model/config.js';
import { STANDARD_WIDTHS } from '../src/model/widths.js';
import { MatMambaVision } from '../src/model/vision.js';
import { exportMatMamba } from '../src/runtime/export-matmamba.js';
import { createSession, runImages } from '../src/runtime/onnx.js';
import { Rng } from '../src/util/rng.js';
import { machine, mdTable, writeReport } from './util.js';

interface Row {
  config: string;
  width: string;
  batch: number;
  fp32Ms: { median: number; min: number; max: number };
  int8Ms: { median: number; min: number; max: number };
  speedup: number;
  cosine: { mean: number; min: number };
  bytes: { fp32: number; int8: number };
}

const stat = (t: number[]) => {
  const s = [...t].sort((a, b) => a - b);
  const f = (x: number) => +x.toFixed(3);
  return { median: f(s[s.length >> 1]!), min: f(s[0]!), max: f(s.at(-1)!) };
};

export async function benchEncoderInt8(o: {
  configs: readonly string[];
  batches: readonly number[];
  reps: number;
}): Promise<void> {
  await initBackend({ purpose: 'inference' });
  const load = [loadavg()[0]!];
  const rows: Row[] = [];
  for (const name of o.configs) {
    const cfg = presetConfig(name, { nClasses: 0 });
    const model = MatMambaVision.create(cfg, 0);
    try {
      for (const width of STANDARD_WIDTHS) {
        const made = (['fp32', 'int8'] as const).map((precision) =>
          exportMatMamba(model, { widths: width, precision }),
        );
        const sessions = await Promise.all(made.map((ex) => createSession(ex.bytes, 'cpu')));
        try {
          for (const batch of o.batches) {
            const rng = new Rng(batch);
            const x = Float32Array.from(
              { length: batch * cfg.imageSize * cfg.imageSize * cfg.inChans },
              () => rng.normal(),
            );
            const run = (i: number) => runImages(sessions[i]!, x, batch, made[i]!, 4);
            const out = [await run(0), await run(1)]; // warm-up, and the fidelity pair
            const times: number[][] = [[], []];
            for (let r = 0; r < o.reps; r++)
              for (const i of [0, 1]) {
                const t0 = performance.now();
                await run(i);
                times[i]!.push((performance.now() - t0) / batch);
              }
            const D = cfg.dModel;
            const cos = Array.from({ length: batch }, (_, b) => {
              let dot = 0;
              for (let d = 0; d < D; d++)
                dot += out[0]!.embeddings[b * D + d]! * out[1]!.embeddings[b * D + d]!;
              return dot;
            });
            const [fp32Ms, int8Ms] = [stat(times[0]!), stat(times[1]!)];
            rows.push({
              config: name,
              width,
              batch,
              fp32Ms,
              int8Ms,
              speedup: +(fp32Ms.median / int8Ms.median).toFixed(2),
              cosine: {
                mean: +(cos.reduce((a, c) => a + c, 0) / batch).toFixed(5),
                min: +Math.min(...cos).toFixed(5),
              },
              bytes: { fp32: made[0]!.bytes.length, int8: made[1]!.bytes.length },
            });
            console.log(JSON.stringify(rows.at(-1)));
          }
        } finally {
          await Promise.all(sessions.map((s) => s.release()));
        }
      }
    } finally {
      model.dispose();
    }
  }
  load.push(loadavg()[0]!);
  const mc = machine();
  const range = (s: Row['fp32Ms']) => `${s.median} (${s.min}-${s.max})`;
  const md =
    `# int8 encoder against fp32\n\n` +
    `\`npm run bench -- encoder --only int8\` on ${mc.cpu} (${mc.cores} cores), node ${mc.node}, ` +
    `${mc.date}; load average ${load.map((l) => l.toFixed(2)).join(' -> ')} (the two precisions ` +
    `run interleaved, so compare them within a row; rates across runs move with the load). One ORT ` +
    `session on one thread, micro-batches of 4, random weights and inputs; medians of ${o.reps} ` +
    `interleaved reps, min-max in brackets. Cosine: each int8 embedding against its fp32 twin.\n\n` +
    mdTable(
      [
        'config',
        'width',
        'batch',
        'fp32 ms/image',
        'int8 ms/image',
        'speed-up',
        'cosine mean',
        'cosine min',
        'graph MB fp32 / int8',
      ],
      rows.map((r) => [
        r.config,
        r.width,
        r.batch,
        range(r.fp32Ms),
        range(r.int8Ms),
        `${r.speedup}x`,
        r.cosine.mean,
        r.cosine.min,
        `${(r.bytes.fp32 / 2 ** 20).toFixed(1)} / ${(r.bytes.int8 / 2 ** 20).toFixed(1)}`,
      ]),
    );
  writeReport(
    'docs/bench/encoder-int8.json',
    { machine: mc, load, reps: o.reps, rows },
    'docs/bench/encoder-int8.md',
    md,
  );
}

/**
 * Forward time per image of the tfjs encoder at each nested width (and two Mix'n'Match points),
 * batch 1 and 32, with effective GFLOP/s from the counted MACs.
 *   npm run bench -- model [--config tiny] [--reps 5]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/model/backend.js';
import { presetConfig } from '../src/model/config.js';
import { modelCost } from '../src/model/cost.js';
import { STANDARD_WIDTHS } from '../src/model/nesting.js';
import { MatMambaVision } from '../src/model/vision.js';
import { defaultMixPoints } from '../src/cli/model-info.js';
import { machine, mdTable, timeMedian, writeReport } from './util.js';

export async function benchModelForward(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', default: 'tiny' },
      reps: { type: 'string', default: '5' },
    },
  });
  const backend = await initBackend({ purpose: 'inference' });
  const cfg = presetConfig(values.config!);
  const reps = Number(values.reps);
  const model = MatMambaVision.create(cfg, 0);
  const widths = [...STANDARD_WIDTHS, ...defaultMixPoints(cfg)];
  const rows: {
    width: string;
    batch: number;
    msPerImage: number;
    minMs: number;
    maxMs: number;
    imagesPerS: number;
    macs: number;
    gflops: number;
  }[] = [];
  for (const batch of [1, 32]) {
    const x = tf.randomUniform(
      [batch, cfg.imageSize, cfg.imageSize, cfg.inChans],
      -1,
      1,
      'float32',
      1,
    ) as tf.Tensor4D;
    for (const w of widths) {
      const t = timeMedian(() => {
        const f = model.encode(x, w);
        f.dataSync();
        f.dispose();
      }, reps);
      const { macs } = modelCost(cfg, w);
      const ms = t.median / batch;
      rows.push({
        width: model.widthLabel(w),
        batch,
        msPerImage: +ms.toFixed(3),
        minMs: +(t.min / batch).toFixed(3),
        maxMs: +(t.max / batch).toFixed(3),
        imagesPerS: +(1000 / ms).toFixed(1),
        macs,
        gflops: +((2 * macs) / (ms * 1e6)).toFixed(2),
      });
      console.log(`${values.config} batch ${batch} width ${w}: ${ms.toFixed(2)} ms/image`);
    }
    x.dispose();
  }
  // Training cost: forward + backward of a scalar loss on the logits, 32 images, each standard width.
  const train: { width: string; msPerBatch: number; imagesPerS: number }[] = [];
  const x = tf.randomUniform(
    [32, cfg.imageSize, cfg.imageSize, cfg.inChans],
    -1,
    1,
    'float32',
    2,
  ) as tf.Tensor4D;
  const vars = [...model.params.values()];
  for (const w of STANDARD_WIDTHS) {
    const t = timeMedian(
      () => {
        const { value, grads } = tf.variableGrads(() => {
          const { features, logits } = model.forward(x, w);
          return tf.add(tf.sum(tf.square(features)), logits ? tf.sum(logits) : 0) as tf.Scalar;
        }, vars);
        value.dataSync();
        tf.dispose([value, ...Object.values(grads)]);
      },
      Math.max(2, Math.ceil(reps / 2)),
    );
    train.push({
      width: w,
      msPerBatch: +t.median.toFixed(1),
      imagesPerS: +((32 * 1000) / t.median).toFixed(1),
    });
    console.log(`${values.config} train step width ${w}: ${t.median.toFixed(0)} ms / 32 images`);
  }
  x.dispose();
  model.dispose();
  const result = {
    bench: 'model-forward',
    config: values.config,
    backend,
    reps,
    machine: machine(),
    rows,
    train,
  };
  const md =
    `# tfjs encoder forward: ${values.config} on ${backend}\n\n` +
    `${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}, ${result.machine.date}. ` +
    `Median of ${reps} runs (min-max in brackets); random weights (speed does not depend on them).\n\n` +
    mdTable(
      ['width', 'batch', 'ms / image', 'images / s', 'MMACs / image', 'effective GFLOP/s'],
      rows.map((r) => [
        r.width,
        r.batch,
        `${r.msPerImage} (${r.minMs}-${r.maxMs})`,
        r.imagesPerS,
        (r.macs / 1e6).toFixed(1),
        r.gflops,
      ]),
    ) +
    `\nTraining step (forward + backward, batch 32, one thread):\n\n` +
    mdTable(
      ['width', 'ms / step', 'images / s'],
      train.map((r) => [r.width, r.msPerBatch, r.imagesPerS]),
    );
  writeReport(
    `docs/bench/model-forward-${values.config}.json`,
    result,
    `docs/bench/model-forward-${values.config}.md`,
    md,
  );
}

/**
 * A training worker thread: owns one tfjs (wasm) copy of the model, loads the data set itself,
 * and turns a list of micro-batches into accumulated gradients (step.ts). The main thread owns
 * the weights and the optimizer, so workers only ever compute.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../model/backend.js';
import type { MatMambaVisionConfig } from '../model/config.js';
import { MatMambaVision } from '../model/vision.js';
import type { ImageSet } from '../data/image-set.js';
import type { AugmentOptions } from './augment.js';
import { loadSplit, type DataSpec } from './data.js';
import { accumulateGradients, batchPixels, type LossOptions, type MicroBatch } from './step.js';

export type { LossOptions, MicroBatch };

export type WorkerRequest =
  | {
      type: 'init';
      /** The data, pixels in shared memory; absent: the worker loads `data` itself. */
      sets?: { train: ImageSet; test: ImageSet };
      config: MatMambaVisionConfig;
      data: DataSpec;
      dataRoot?: string;
      augment: AugmentOptions;
      /** The views of a pair of two different drawings, when they differ from `augment`. */
      pairAugment?: AugmentOptions;
      /** The views of the seeded check (the default augmentation, so checks stay comparable). */
      checkAugment: AugmentOptions;
      loss: LossOptions;
      allowSlowCpu?: boolean;
    }
  | { type: 'weights'; arrays: Record<string, Float32Array> }
  | { type: 'grads'; micro: MicroBatch[] }
  /** Features of the test images; with `seed`, of seeded augmented views instead of centred ones. */
  | { type: 'eval'; indices: number[]; widths: string[]; seed?: number };

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'ok' }
  | {
      type: 'grads';
      grads: Record<string, Float32Array>;
      losses: { width: string; loss: number }[];
    }
  | {
      type: 'eval';
      predictions: Record<string, Int32Array>;
      features: Record<string, Float32Array>;
    }
  | { type: 'error'; message: string };

let model: MatMambaVision | null = null;
let train: ImageSet | null = null;
let test: ImageSet | null = null;
let cfg: MatMambaVisionConfig;
let augment: AugmentOptions;
let pairAugment: AugmentOptions | null = null;
let checkAugment: AugmentOptions;
let lossOpts: LossOptions;
/** The general corpus trains on PairSampler's pairs: a pair's two images are positives. */
let pairLabels = false;

function evaluate(indices: number[], widths: string[], seed: number | null): WorkerReply {
  const D = cfg.dModel;
  const predictions: Record<string, Int32Array> = {};
  const features: Record<string, Float32Array> = {};
  for (const w of widths) {
    predictions[w] = new Int32Array(indices.length);
    features[w] = new Float32Array(indices.length * D);
  }
  const batch = 64; // bounded memory: the SSD masks grow with batch x L²
  for (let s = 0; s < indices.length; s += batch) {
    const idx = indices.slice(s, s + batch);
    const x = batchPixels(
      model!,
      test!,
      idx,
      seed === null ? null : seed + s,
      seed === null ? null : checkAugment,
    );
    for (const w of widths) {
      tf.tidy(() => {
        const { features: f, logits } = model!.forward(x, w);
        if (logits) predictions[w]!.set(tf.argMax(logits, 1).dataSync(), s);
        features[w]!.set(f.dataSync(), s * D);
      });
    }
    x.dispose();
  }
  return { type: 'eval', predictions, features };
}

async function handle(msg: WorkerRequest): Promise<WorkerReply> {
  switch (msg.type) {
    case 'init': {
      const backend = await initBackend({
        purpose: 'training',
        allowSlowCpu: msg.allowSlowCpu ?? false,
      });
      cfg = msg.config;
      augment = msg.augment;
      pairAugment = msg.pairAugment ?? null;
      checkAugment = msg.checkAugment;
      lossOpts = msg.loss;
      pairLabels = msg.data.kind === 'general';
      train = msg.sets?.train ?? loadSplit(msg.data, 'train', msg.dataRoot);
      test = msg.sets?.test ?? loadSplit(msg.data, 'test', msg.dataRoot);
      return { type: 'ready', backend };
    }
    case 'weights': {
      const arrays = new Map(Object.entries(msg.arrays));
      if (!model) {
        model = MatMambaVision.fromArrays(cfg, arrays);
      } else {
        for (const [k, v] of model.params) {
          const t = tf.tensor(arrays.get(k)!, v.shape);
          v.assign(t);
          t.dispose();
        }
      }
      return { type: 'ok' };
    }
    case 'grads': {
      const r = accumulateGradients(
        model!,
        train!,
        msg.micro,
        augment,
        lossOpts,
        pairAugment,
        pairLabels,
      );
      return { type: 'grads', grads: Object.fromEntries(r.grads), losses: r.losses };
    }
    case 'eval':
      return evaluate(msg.indices, msg.widths, msg.seed ?? null);
  }
}

parentPort!.on('message', (msg: WorkerRequest) => {
  handle(msg).then(
    (reply) => {
      const transfer =
        reply.type === 'grads'
          ? Object.values(reply.grads).map((a) => a.buffer as ArrayBuffer)
          : [];
      parentPort!.postMessage(reply, transfer);
    },
    (err: unknown) =>
      parentPort!.postMessage({ type: 'error', message: (err as Error).stack ?? String(err) }),
  );
});

/**
 * `matsearch eval --data general`: every task of the general evaluation in one run, the model at
 * each standard query width (against full-width database vectors) beside the baselines, on the
 * same queries. Writes docs/eval/<model>-general.{json,md}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbedder } from '../embed/open.js';
import { initBackend } from '../model/backend.js';
import type { Embedder } from '../embed/embedder.js';
import { STANDARD_WIDTHS } from '../model/nesting.js';
import { CONFIG_FILE } from '../model/weights.js';
import { dataDir } from '../data/paths.js';
import { BASELINE_TEXT } from './baselines.js';
import { readCorpus } from './general-data.js';
import {
  acceptance,
  partialReasons,
  writeGeneralReport,
  type GeneralReport,
} from './general-report.js';
import {
  categoryRetrieval,
  copyDetection,
  crossStyle,
  fmnistKnn,
  type TaskContext,
  type TaskName,
  type TaskResult,
} from './general-tasks.js';
import { COPY_TRANSFORMS, TRANSFORM_TEXT } from './transforms.js';

export interface GeneralOptions {
  readonly modelDir: string;
  readonly outDir: string;
  readonly seed?: number;
  readonly allowSmall?: boolean;
  readonly distractors?: number;
  readonly transforms?: readonly string[];
  readonly categoryCap?: number;
  readonly fmnistQueries?: number;
  readonly fmnistDatabase?: number;
  readonly tasks?: readonly TaskName[];
  /** 'train': copy detection on training photos only, to choose settings (see TaskContext). */
  readonly split?: 'train' | 'test';
  readonly dataRoot?: string;
  /** An encoder to use instead of the model's own (tests). */
  readonly embedder?: Embedder;
  readonly log?: (s: string) => void;
}

export async function evaluateGeneral(o: GeneralOptions): Promise<GeneralReport> {
  const log = o.log ?? ((s: string) => console.log(s));
  const started = Date.now();
  const cpu0 = process.cpuUsage(); // the whole process: main thread, ONNX workers, sharp
  const dataRoot = o.dataRoot ?? dataDir();
  const cfg = JSON.parse(readFileSync(join(o.modelDir, CONFIG_FILE), 'utf8')) as {
    name: string;
    modelId: string;
  };
  // Ranking runs on tfjs (rank.ts): its backend first, whichever embedder runs (the ONNX one
  // no longer loads tfjs).
  await initBackend({ purpose: 'inference' });
  const embedder = o.embedder ?? (await openEmbedder(o.modelDir));
  const ctx: TaskContext = {
    embedder,
    widths: STANDARD_WIDTHS,
    seed: o.seed ?? 0,
    allowSmall: o.allowSmall ?? false,
    distractors: o.distractors ?? 5000,
    transforms: o.transforms ?? COPY_TRANSFORMS,
    categoryCap: o.categoryCap ?? 3000,
    fmnistQueries: o.fmnistQueries ?? 2000,
    fmnistDatabase: o.fmnistDatabase ?? 5000,
    dataRoot,
    split: o.split ?? 'test',
    log,
  };
  const corpus = readCorpus(dataRoot);
  log(`corpus: ${corpus.images.length} images in ${corpus.sources.length} sources`);
  const want = new Set<TaskName>(o.tasks ?? ['copy', 'style', 'category', 'fmnist']);
  const tasks: TaskResult[] = [];
  const timings: Record<string, number> = {};
  try {
    for (const [name, run] of [
      ['copy', () => copyDetection(corpus.images, ctx)],
      ['style', () => crossStyle(corpus.images, ctx)],
      ['category', () => categoryRetrieval(corpus.images, ctx)],
      ['fmnist', () => fmnistKnn(ctx)],
    ] as const) {
      if (!want.has(name)) continue;
      if (ctx.split === 'train' && name !== 'copy') continue; // held-out data only
      const t0 = Date.now();
      const r = await run();
      timings[name] = Math.round((Date.now() - t0) / 1000);
      if (r.status === 'skipped') log(`${name}: skipped: ${r.reason}`);
      tasks.push(r);
    }
  } finally {
    if (!o.embedder) await embedder.close();
  }
  const report: GeneralReport = {
    model: cfg.name,
    modelId: cfg.modelId,
    data: 'general',
    date: new Date().toISOString(),
    seed: ctx.seed,
    input: { size: embedder.inputSize, channels: embedder.inputChannels },
    widths: [...ctx.widths],
    baselines: BASELINE_TEXT,
    transforms: ctx.transforms.map((t) => ({
      name: t,
      text: t
        .split('+')
        .map((s) => TRANSFORM_TEXT[s] ?? s)
        .join(', then '),
    })),
    corpus: { sources: corpus.sources, images: corpus.images.length },
    partial: false,
    tasks,
    ...(ctx.split === 'train' ? { split: 'train' as const } : {}),
    acceptance: ctx.split === 'train' ? [] : acceptance(tasks), // the targets are on held-out data
    seconds: {
      total: Math.round((Date.now() - started) / 1000),
      cpu: Math.round((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6),
      ...timings,
    },
  };
  const final = { ...report, partial: partialReasons(report).length > 0 };
  writeGeneralReport(final, o.outDir);
  return final;
}

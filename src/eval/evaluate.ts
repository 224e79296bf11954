/**
 * `matsearch eval`: classification per width and Mix'n'Match point, retrieval for every
 * (query width x database width) pair, agreement between widths, and cross-vendor emoji
 * retrieval on held-out emoji. Writes JSON, Markdown and an SVG plot.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../model/backend.js';
import { modelCost } from '../model/cost.js';
import { loadModel } from '../model/weights.js';
import type { MatMambaVision } from '../model/vision.js';
import { imageCount, type ImageSet } from '../data/image-set.js';
import { batchPixels } from '../train/step.js';
import { loadSplit, type DataSpec } from '../train/data.js';
import { lineChart, type Series } from '../util/svg-plot.js';
import { rankTopK } from './rank.js';
import {
  apAt10PerQuery,
  metricsFromRanks,
  normalizeRows,
  formatChange,
  type QueryWidthLoss,
  type RetrievalMetrics,
} from './retrieval.js';
import { clusterBootstrap } from './bootstrap.js';
import { ValidationError } from '../errors.js';

export interface EvalOptions {
  readonly modelDir: string;
  readonly data: DataSpec;
  readonly dataRoot?: string;
  /** Output folder for <name>.json/.md/.svg. */
  readonly outDir: string;
  /** Widths to score; default the four standard ones. */
  readonly widths: readonly string[];
  /** Extra per-layer Mix'n'Match specs for the classification curve. */
  readonly mixPoints: readonly string[];
  /** At most this many queries in class-level retrieval (all test images when larger; 0: none). */
  readonly queries: number;
  /**
   * Emoji only: 'train' scores the training emoji instead of the held-out ones (to tell
   * overfitting from a gap the model has everywhere); the files get a `-train` suffix.
   */
  readonly split?: 'train' | 'test';
  readonly log?: (s: string) => void;
}

interface Embedded {
  features: Float32Array;
  predictions: Int32Array | null;
}

function embed(
  model: MatMambaVision,
  set: ImageSet,
  width: string,
  limit = imageCount(set),
  batch = 64,
): Embedded {
  const n = Math.min(limit, imageCount(set));
  const D = model.config.dModel;
  const features = new Float32Array(n * D);
  const withHead = model.config.nClasses === set.classes.length;
  const predictions = withHead ? new Int32Array(n) : null;
  for (let s = 0; s < n; s += batch) {
    const idx = Array.from({ length: Math.min(batch, n - s) }, (_, i) => s + i);
    tf.tidy(() => {
      const { features: f, logits } = model.forward(
        batchPixels(model, set, idx, null, null),
        width,
      );
      features.set(f.dataSync(), s * D);
      if (predictions && logits) predictions.set(tf.argMax(logits, 1).dataSync(), s);
    });
  }
  return { features, predictions };
}

function meanCosine(a: Float32Array, b: Float32Array, d: number): number {
  const an = normalizeRows(a, d);
  const bn = normalizeRows(b, d);
  let s = 0;
  for (let i = 0; i < an.length; i++) s += an[i]! * bn[i]!;
  return s / (an.length / d);
}

const pct = (v: number) => (100 * v).toFixed(2);

export async function evaluate(o: EvalOptions) {
  const log = o.log ?? ((s: string) => console.log(s));
  const instance = o.data.kind === 'emoji';
  const split = o.split ?? 'test';
  if (split === 'train' && !instance)
    throw new ValidationError(
      '--split train needs --data emoji: class-level retrieval searches the training images, ' +
        'so training queries would find themselves',
    );

  await initBackend({ purpose: 'inference' });
  const { model, modelId, name: modelName } = loadModel(o.modelDir);
  const cfg = model.config;
  const name = split === 'train' ? `${modelName}-train` : modelName;
  const test = loadSplit(o.data, split, o.dataRoot);
  const db = instance ? test : loadSplit(o.data, 'train', o.dataRoot);
  const D = cfg.dModel;
  const report: Record<string, unknown> = {
    model: modelName,
    modelId,
    split,
    data: o.data.kind,
    date: new Date().toISOString(),
  };

  // Classification (when the head's classes are the test labels).
  const classification: { width: string; top1: number; params: number; macs: number }[] = [];
  const testEmb = new Map<string, Embedded>();
  if (!instance) {
    for (const w of [...o.widths, ...o.mixPoints]) {
      const e = embed(model, test, w);
      if (o.widths.includes(w)) testEmb.set(w, e);
      const correct = e.predictions!.reduce((c, p, i) => c + (p === test.labels[i] ? 1 : 0), 0);
      const { params, macs } = modelCost(cfg, w);
      classification.push({
        width: model.widthLabel(w),
        top1: correct / e.predictions!.length,
        params,
        macs,
      });
      log(`top-1 at ${w}: ${pct(correct / e.predictions!.length)}%`);
    }
    report['classification'] = classification;
  } else {
    for (const w of o.widths) testEmb.set(w, embed(model, test, w));
  }

  // Agreement with the full width.
  const full = testEmb.get(o.widths[0]!)!.features;
  report['cosineToFull'] = Object.fromEntries(
    o.widths.map((w) => [w, +meanCosine(full, testEmb.get(w)!.features, D).toFixed(4)]),
  );

  // Retrieval for every (query width, database width) pair.
  const nq = instance ? imageCount(test) : Math.min(o.queries, imageCount(test));
  const dbEmb = new Map<string, Float32Array>();
  // `--queries 0` skips class-level retrieval (and embedding the database for it).
  for (const w of nq > 0 ? o.widths : [])
    dbEmb.set(w, instance ? testEmb.get(w)!.features : embed(model, db, w).features);
  const qLabels = test.labels;
  const dLabels = db.labels;
  const relevantCount = new Map<number, number>();
  const groups = test.groups;
  const skip = instance ? (q: number, j: number) => groups![j] === groups![q] : () => false;
  const countRel = (q: number) => {
    const l = qLabels[q]!;
    if (!relevantCount.has(q)) {
      let c = 0;
      for (let j = 0; j < dLabels.length; j++) if (dLabels[j] === l && !skip(q, j)) c++;
      relevantCount.set(q, c);
    }
    return relevantCount.get(q)!;
  };
  const pairs: { queryWidth: string; dbWidth: string; metrics: RetrievalMetrics }[] = [];
  const fullWidth = o.widths[0]!;
  const apAgainstFull = new Map<string, Float64Array>(); // query width -> AP@10 per query
  for (const qw of nq > 0 ? o.widths : []) {
    const Q = testEmb.get(qw)!.features.subarray(0, nq * D);
    for (const dw of o.widths) {
      const ranks = rankTopK(Q, dbEmb.get(dw)!, D, 10, skip);
      const isRelevant = (q: number, j: number) => dLabels[j] === qLabels[q];
      const ap = apAt10PerQuery(ranks, isRelevant, countRel);
      const m = metricsFromRanks(ranks, isRelevant, countRel, ap);
      if (dw === fullWidth) apAgainstFull.set(qw, ap);
      pairs.push({ queryWidth: qw, dbWidth: dw, metrics: m });
      log(
        `retrieval query ${qw} / database ${dw}: mAP@10 ${pct(m.mapAt10)} R@1 ${pct(m.recallAt1)} R@10 ${pct(m.recallAt10)}`,
      );
    }
  }
  // What a cheaper query costs against the full-width collection, query by query, with a 95%
  // paired bootstrap interval. Emoji queries are resampled by emoji (its three drawings share
  // one answer set); class-level queries one by one.
  const fullAp = apAgainstFull.get(fullWidth);
  const queryWidthLoss = fullAp
    ? o.widths.slice(1).map((qw) => {
        const ap = apAgainstFull.get(qw)!;
        const diff = ap.map((a, q) => a - fullAp[q]!);
        const cluster = instance ? qLabels.subarray(0, nq) : Int32Array.from(diff, (_, q) => q);
        const b = clusterBootstrap(diff, cluster);
        return {
          queryWidth: qw,
          dbWidth: fullWidth,
          mapAt10Change: b.mean,
          ci95: [b.lo, b.hi] as [number, number],
          clusters: b.clusters,
        };
      })
    : [];
  report['retrieval'] = {
    queryWidthLoss,
    protocol: instance
      ? `${splitWord(split)} emoji: every image queries the images of the other two vendors; relevant = same emoji`
      : `${nq} test queries against the ${imageCount(db)} training images; relevant = same class`,
    pairs,
  };

  // Cross-vendor pairings at full width (query vendor -> database vendors).
  if (instance && groups) {
    const names = test.groupNames ?? [];
    const F = testEmb.get(o.widths[0]!)!.features;
    const vendorRows: { query: string; database: string; metrics: RetrievalMetrics }[] = [];
    const pick = (g: (x: number) => boolean) =>
      [...Array(imageCount(test)).keys()].filter((i) => g(groups[i]!));
    const sub = (idx: number[]) => {
      const out = new Float32Array(idx.length * D);
      idx.forEach((i, k) => out.set(F.subarray(i * D, (i + 1) * D), k * D));
      return out;
    };
    const settings: [string, (v: number) => boolean, (v: number) => boolean][] = [];
    names.forEach((qn, qv) => {
      settings.push([qn, (v) => v === qv, (v) => v !== qv]);
      names.forEach(
        (dn, dv) => dv !== qv && settings.push([`${qn}->${dn}`, (v) => v === qv, (v) => v === dv]),
      );
    });
    for (const [label, qSel, dSel] of settings) {
      const qi = pick(qSel);
      const di = pick(dSel);
      const ranks = rankTopK(sub(qi), sub(di), D, 10);
      const ql = qi.map((i) => qLabels[i]!);
      const dl = di.map((i) => qLabels[i]!);
      const m = metricsFromRanks(
        ranks,
        (q, j) => dl[j] === ql[q],
        (q) => dl.filter((l) => l === ql[q]).length,
      );
      const [qn, dn] = label.includes('->')
        ? label.split('->')
        : [label, names.filter((x) => x !== label).join('+')];
      vendorRows.push({ query: qn!, database: dn!, metrics: m });
      log(
        `vendor ${qn} -> ${dn}: R@1 ${pct(m.recallAt1)} R@10 ${pct(m.recallAt10)} mAP@10 ${pct(m.mapAt10)}`,
      );
    }
    report['vendors'] = vendorRows;
  }
  model.dispose();
  write(o, name, report, classification, pairs);
  return report;
}

function write(
  o: EvalOptions,
  name: string,
  report: Record<string, unknown>,
  classification: { width: string; top1: number; params: number; macs: number }[],
  pairs: { queryWidth: string; dbWidth: string; metrics: RetrievalMetrics }[],
) {
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
  const lines: string[] = [
    `# Evaluation: ${name}`,
    '',
    `Model id \`${String(report['modelId'])}\`, data ${o.data.kind}` +
      `${report['split'] === 'train' ? ' (training split)' : ''}, ${String(report['date'])}.`,
    '',
  ];
  if (classification.length > 0) {
    lines.push(
      '## Top-1 accuracy per width',
      '',
      '| width | top-1 % | params | MMACs / image |',
      '| --- | --- | --- | --- |',
    );
    for (const c of classification)
      lines.push(
        `| ${c.width} | ${pct(c.top1)} | ${(c.params / 1e6).toFixed(3)} M | ${(c.macs / 1e6).toFixed(2)} |`,
      );
    lines.push('', `![accuracy vs MACs](${name}-accuracy.svg)`, '');
    const standard = classification.filter((c) => o.widths.map((w) => w).includes(c.width));
    const mix = classification.filter((c) => !standard.includes(c));
    const series: Series[] = [
      {
        name: 'nested widths',
        points: standard.map((c) => ({ x: c.macs / 1e6, y: 100 * c.top1, label: c.width })),
      },
    ];
    if (mix.length > 0)
      series.push({
        name: "Mix'n'Match",
        line: false,
        points: mix.map((c) => ({ x: c.macs / 1e6, y: 100 * c.top1 })),
      });
    writeFileSync(
      join(o.outDir, `${name}-accuracy.svg`),
      lineChart(series, {
        title: `${name}: top-1 vs compute`,
        xLabel: 'MMACs per image',
        yLabel: 'top-1 accuracy (%)',
      }),
    );
  }
  const cos = report['cosineToFull'] as Record<string, number>;
  lines.push(
    '## Agreement with the full width',
    '',
    `Mean cosine between f_1(x) and f_w(x) on the test images: ${Object.entries(cos)
      .map(([w, v]) => `${w}: ${v}`)
      .join(', ')}.`,
    '',
  );
  const widths = o.widths;
  const retrieval = report['retrieval'] as {
    protocol: string;
    queryWidthLoss?: QueryWidthLoss[];
  };
  for (const [metric, key] of pairs.length === 0
    ? []
    : ([
        ['mAP@10', 'mapAt10'],
        ['recall@1', 'recallAt1'],
        ['recall@10', 'recallAt10'],
      ] as const)) {
    lines.push(
      `## Retrieval ${metric} (%), rows: query width, columns: database width`,
      '',
      retrieval.protocol + '.',
      '',
    );
    lines.push(
      `| query \\ database | ${widths.join(' | ')} |`,
      `| --- | ${widths.map(() => '---').join(' | ')} |`,
    );
    for (const qw of widths) {
      lines.push(
        `| ${qw} | ${widths.map((dw) => pct(pairs.find((p) => p.queryWidth === qw && p.dbWidth === dw)!.metrics[key])).join(' | ')} |`,
      );
    }
    lines.push('');
    if (key === 'mapAt10' && retrieval.queryWidthLoss?.length)
      lines.push(queryWidthLossLine(retrieval.queryWidthLoss), '');
  }
  const vendors = report['vendors'] as
    { query: string; database: string; metrics: RetrievalMetrics }[] | undefined;
  if (vendors) {
    lines.push(
      `## Cross-vendor retrieval on ${splitWord(report['split'])} emoji (full width)`,
      '',
      '| query | database | recall@1 | recall@10 | mAP@10 |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const v of vendors)
      lines.push(
        `| ${v.query} | ${v.database} | ${pct(v.metrics.recallAt1)} | ${pct(v.metrics.recallAt10)} | ${pct(v.metrics.mapAt10)} |`,
      );
    lines.push('');
  }
  writeFileSync(join(o.outDir, `${name}.md`), lines.join('\n'));
}

const splitWord = (split: unknown) => (split === 'train' ? 'training' : 'held-out');

function queryWidthLossLine(losses: readonly QueryWidthLoss[]): string {
  return (
    `Change in mAP@10 (points) when the query is embedded at a narrower width and searched against ` +
    `the full-width database, with a 95% paired bootstrap interval over ${losses[0]!.clusters} ` +
    `resampled units: ${losses.map((l) => `${l.queryWidth}: ${formatChange(l)}`).join(', ')}.`
  );
}

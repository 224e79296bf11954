/**
 * The general evaluation's report: the acceptance checks of the issue (measured value, target,
 * met or missed), the JSON, and the Markdown tables (every number with its 95% interval).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINES, type BaselineName } from './baselines.js';
import { modelMethod } from './general-features.js';
import type { MethodScores, SetResult } from './general-score.js';
import type { TaskName, TaskResult } from './general-tasks.js';
import type { Estimate, MetricName } from './query-metrics.js';
import { lineChart, type Series } from '../util/svg-plot.js';

export interface AcceptanceRow {
  readonly target: string;
  readonly measured: string;
  /** null: not measured (its task was skipped). */
  readonly met: boolean | null;
}

export interface GeneralReport {
  readonly model: string;
  readonly modelId: string;
  readonly data: 'general';
  readonly date: string;
  readonly seed: number;
  readonly input: { size: number; channels: number };
  readonly widths: string[];
  readonly baselines: Record<BaselineName, string>;
  readonly transforms: { name: string; text: string }[];
  readonly corpus: { sources: string[]; images: number };
  /** Some task skipped or run on a subset: not a full result. */
  readonly partial: boolean;
  /** 'train': copy detection on training photos, a validation set (reportName), no acceptance. */
  readonly split?: 'train';
  readonly tasks: TaskResult[];
  readonly acceptance: AcceptanceRow[];
  readonly seconds: Record<string, number>;
}

export const TASK_TITLE: Record<TaskName, string> = {
  copy: 'Copy detection on held-out photos',
  style: 'Cross-style retrieval on held-out styles',
  category: 'Category retrieval on held-out labelled sets',
  fmnist: 'Fashion-MNIST kNN top-1 (continuity)',
};

export const METRIC_TEXT: Record<MetricName, string> = {
  recallAt1: 'recall@1',
  recallAt10: 'recall@10',
  mapAt10: 'mAP@10',
  precisionAt10: 'precision@10',
};

const pts = (x: number) => (100 * x).toFixed(1);

/** "93.4 [91.2, 95.3]": a fraction as percent with its interval. */
export function fmt(e: Estimate | undefined): string {
  return e ? `${pts(e.mean)} [${pts(e.lo)}, ${pts(e.hi)}]` : '-';
}

const value = (m: MethodScores, method: string, metric: MetricName) =>
  m[method]?.[metric]?.mean ?? NaN;

/** The best baseline under `metric` and its estimate. */
function bestBaseline(m: MethodScores, metric: MetricName): { name: string; e: Estimate } {
  let best: BaselineName = BASELINES[0];
  for (const b of BASELINES) if (value(m, b, metric) > value(m, best, metric)) best = b;
  return { name: best, e: m[best]![metric]! };
}

function rowsFor(
  task: TaskResult | undefined,
  what: string,
  f: (t: TaskResult) => AcceptanceRow[],
) {
  if (!task || task.status === 'skipped')
    return [
      { target: what, measured: `not measured: ${task?.reason ?? 'task not run'}`, met: null },
    ];
  return f(task);
}

export function acceptance(tasks: readonly TaskResult[]): AcceptanceRow[] {
  const get = (n: TaskName) => tasks.find((t) => t.task === n);
  const full = modelMethod('1');
  const rows: AcceptanceRow[] = [];
  rows.push(
    ...rowsFor(get('copy'), 'copy detection recall@1 >= 95% overall', (t) => {
      const s = t.sets[0]!;
      const r1 = s.methods[full]!.recallAt1!;
      const b = bestBaseline(s.methods, 'recallAt1');
      let worst = s.breakdown![0]!;
      for (const g of s.breakdown!)
        if (value(g.methods, full, 'recallAt1') < value(worst.methods, full, 'recallAt1'))
          worst = g;
      const w = worst.methods[full]!.recallAt1!;
      return [
        {
          target: 'copy detection recall@1 >= 95% overall',
          measured: fmt(r1),
          met: r1.mean >= 0.95,
        },
        {
          target: 'copy detection recall@1 >= 85% on every transform',
          measured: `worst: ${worst.name} ${fmt(w)}`,
          met: w.mean >= 0.85,
        },
        {
          target: 'copy detection recall@1 at least 10 points above the best baseline',
          measured: `${pts(r1.mean)} vs ${b.name} ${fmt(b.e)}: ${(100 * (r1.mean - b.e.mean)).toFixed(1)} points`,
          met: r1.mean - b.e.mean >= 0.1,
        },
      ];
    }),
  );
  rows.push(
    ...rowsFor(
      get('style'),
      'held-out style recall@10 >= 60%, >= 20 points above 16x16 pixels',
      (t) =>
        t.sets.flatMap((s) => {
          const r10 = s.methods[full]!.recallAt10!;
          const px = s.methods['thumb16']!.recallAt10!;
          return [
            { target: `${s.name}: recall@10 >= 60%`, measured: fmt(r10), met: r10.mean >= 0.6 },
            {
              target: `${s.name}: recall@10 at least 20 points above 16x16 pixels`,
              measured: `${pts(r10.mean)} vs ${fmt(px)}: ${(100 * (r10.mean - px.mean)).toFixed(1)} points`,
              met: r10.mean - px.mean >= 0.2,
            },
          ];
        }),
    ),
  );
  rows.push(
    ...rowsFor(get('category'), 'category precision@10 at least 1.5x the best baseline', (t) =>
      t.sets.map((s) => {
        const p = s.methods[full]!.precisionAt10!;
        const b = bestBaseline(s.methods, 'precisionAt10');
        return {
          target: `${s.name}: precision@10 at least 1.5x the best baseline`,
          measured: `${fmt(p)} vs ${b.name} ${fmt(b.e)}: ${(p.mean / b.e.mean).toFixed(2)}x`,
          met: p.mean >= 1.5 * b.e.mean,
        };
      }),
    ),
  );
  const nestSets = tasks
    .filter((t) => t.task !== 'fmnist' && t.status === 'ok')
    .flatMap((t) => t.sets);
  for (const [w, limit] of [
    ['1/4', 0.01],
    ['1/8', 0.03],
  ] as const) {
    if (nestSets.length === 0)
      rows.push({
        target: `a query at ${w} loses <= ${100 * limit} point(s) of recall@10`,
        measured: 'not measured: no retrieval task ran',
        met: null,
      });
    for (const s of nestSets) {
      const c = s.nesting.find((n) => n.width === w)?.change;
      if (!c) continue;
      rows.push({
        target: `${s.name}: a ${w} query against the full-width database loses <= ${100 * limit} point(s) of recall@10`,
        measured: `${fmt(c)} points`,
        met: c.mean >= -limit,
      });
    }
  }
  return rows;
}

const verdict = (m: boolean | null) => (m === null ? 'not measured' : m ? 'met' : '**missed**');

export function acceptanceTable(rows: readonly AcceptanceRow[]): string[] {
  return [
    '| target | measured (%, 95% interval) | |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.target} | ${r.measured} | ${verdict(r.met)} |`),
  ];
}

/** One row per method, one column per metric. */
export function methodTable(s: SetResult, metrics: readonly MetricName[]): string[] {
  return [
    `| method | ${metrics.map((m) => `${METRIC_TEXT[m]} %`).join(' | ')} |`,
    `| --- | ${metrics.map(() => '---').join(' | ')} |`,
    ...Object.entries(s.methods).map(
      ([m, v]) => `| ${m} | ${metrics.map((k) => fmt(v[k])).join(' | ')} |`,
    ),
  ];
}

/** Rows: transforms; columns: methods. */
export function breakdownTable(s: SetResult, metric: MetricName): string[] {
  const methods = Object.keys(s.methods);
  return [
    `| transform (${METRIC_TEXT[metric]} %) | ${methods.join(' | ')} |`,
    `| --- | ${methods.map(() => '---').join(' | ')} |`,
    ...(s.breakdown ?? []).map(
      (g) => `| ${g.name} | ${methods.map((m) => fmt(g.methods[m]?.[metric])).join(' | ')} |`,
    ),
  ];
}

export function nestingLine(s: SetResult): string {
  return (
    `Change in recall@10 (points) of a narrower query against the full-width database, paired by ` +
    `query, ${s.clusters} resampled units: ` +
    s.nesting.map((n) => `${n.width}: ${fmt(n.change)}`).join(', ') +
    '.'
  );
}

export const taskMetrics = (t: TaskResult): MetricName[] =>
  t.task === 'copy'
    ? ['recallAt1', 'recallAt10']
    : t.task === 'style'
      ? ['recallAt1', 'recallAt10', 'mapAt10']
      : t.task === 'category'
        ? ['precisionAt10', 'recallAt10']
        : ['recallAt1'];

/** The tables of every task, for the report and the model card. */
export function taskSections(r: GeneralReport, level = '##'): string[] {
  const L: string[] = [];
  for (const t of r.tasks) {
    const title =
      r.split === 'train' && t.task === 'copy'
        ? 'Copy detection on training photos (validation)'
        : TASK_TITLE[t.task];
    L.push(`${level} ${title}`, '');
    if (t.status === 'skipped') {
      L.push(`skipped: ${t.reason}`, '');
      continue;
    }
    if (t.reason) L.push(`${t.reason}.`, '');
    for (const n of t.notes) L.push(`- ${n}`);
    if (t.notes.length) L.push('');
    const metrics = taskMetrics(t);
    for (const s of t.sets) {
      L.push(`${level}# ${s.name}`, '', `${s.protocol}.`, '');
      L.push(...methodTable(s, metrics), '');
      if (t.task === 'fmnist') L.push('(recall@1 here is 1-nearest-neighbour top-1 accuracy.)', '');
      if (s.breakdown) {
        L.push(...breakdownTable(s, 'recallAt1'), '', ...breakdownTable(s, 'recallAt10'), '');
      }
      if (s.nesting.length && t.task !== 'fmnist') L.push(nestingLine(s), '');
    }
  }
  return L;
}

/** recall@10 of every retrieval set against the query width, with intervals (null: no sets). */
function nestingChart(r: GeneralReport): string | null {
  const fraction = (w: string) => (w === '1' ? 1 : 1 / Number(w.split('/')[1]));
  const series: Series[] = r.tasks
    .filter((t) => t.task !== 'fmnist' && t.status === 'ok')
    .flatMap((t) => t.sets)
    .map((s) => ({
      name: s.name,
      points: r.widths.map((w) => {
        const e = s.methods[modelMethod(w)]!.recallAt10!;
        return { x: fraction(w), y: 100 * e.mean, lo: 100 * e.lo, hi: 100 * e.hi, label: w };
      }),
    }));
  if (series.length === 0) return null;
  return lineChart(series, {
    title: `${r.model}: recall@10 by query width (full-width database)`,
    xLabel: 'query width (fraction of d_model)',
    yLabel: 'recall@10 (%)',
    logX: true,
    xTicks: r.widths.map(fraction),
  });
}

/** The labelled sets the protocol names (general-data.ts: categorySets). */
export const EXPECTED_CATEGORY_SETS = ['art4apps', 'gcompris-qt-data', 'openclipart'];

/** Why a report is not the full protocol (read from the report itself); empty when it is. */
export function partialReasons(r: GeneralReport): string[] {
  const out: string[] = [];
  for (const task of ['copy', 'style', 'category', 'fmnist'] as const) {
    const t = r.tasks.find((x) => x.task === task);
    if (!t) out.push(`${TASK_TITLE[task].toLowerCase()}: not run`);
    else if (t.status === 'skipped') out.push(`${TASK_TITLE[task].toLowerCase()}: skipped`);
    else if (t.reason) out.push(t.reason);
    for (const n of t?.notes ?? []) if (n.includes('--allow-small')) out.push(n.replace(/\*/g, ''));
  }
  const cat = r.tasks.find((t) => t.task === 'category' && t.status === 'ok');
  const absent = EXPECTED_CATEGORY_SETS.filter((n) => cat && !cat.sets.some((s) => s.name === n));
  if (absent.length && !cat?.reason)
    out.push(`no held-out labelled images from ${absent.join(', ')}`);
  return out;
}

export function partialLine(r: GeneralReport): string[] {
  const why = partialReasons(r);
  return why.length ? [`**Partial result** (not the full protocol): ${why.join('; ')}.`, ''] : [];
}

/** The report's file name without extension: a validation run never overwrites the held-out one. */
export const reportName = (r: Pick<GeneralReport, 'model' | 'split'>): string =>
  `${r.model}-general${r.split === 'train' ? '-train' : ''}`;

export function writeGeneralReport(r: GeneralReport, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const name = reportName(r);
  const chart = nestingChart(r);
  if (chart) writeFileSync(join(outDir, `${name}-nesting.svg`), chart);
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(r, null, 2) + '\n');
  const L = [
    `# General evaluation: ${r.model}`,
    '',
    `Model id \`${r.modelId}\`, ${r.date}, seed ${r.seed}, ${r.seconds['total']} s` +
      (r.seconds['cpu'] !== undefined ? ` (${r.seconds['cpu']} CPU-s)` : '') +
      '. ' +
      `Images go through the engine's decoding (sharp) and preprocessing to ${r.input.size} px ` +
      `${r.input.channels === 1 ? 'grey' : 'RGB'} and its embedder; \`model@w\` embeds the query at ` +
      'width w and searches the full-width database vectors. Every number: mean over queries in %, ' +
      '[95% cluster-bootstrap interval, 2,000 rounds].',
    '',
    ...(r.split === 'train'
      ? [
          '**Validation on training photos, not held out** (`--split train`): copy detection ' +
            'with a seeded sample of the photos the model trained on as originals, for choosing ' +
            'settings without looking at the held-out set. The figures run high; no target is ' +
            'judged on them.',
          '',
        ]
      : []),
    ...partialLine(r),
    `Corpus: ${r.corpus.images} images in ${r.corpus.sources.length} sources (${r.corpus.sources.join(', ') || 'none'}).`,
    '',
    'Baselines: ' +
      Object.entries(r.baselines)
        .map(([k, v]) => `\`${k}\` ${v}`)
        .join('; ') +
      '.',
    '',
    '## Acceptance',
    '',
    ...acceptanceTable(r.acceptance),
    '',
    ...(chart ? [`![recall@10 by query width](${name}-nesting.svg)`, ''] : []),
    ...taskSections(r),
    '## Copy-detection transforms',
    '',
    ...r.transforms.map((t) => `- \`${t.name}\`: ${t.text}`),
    '',
  ];
  writeFileSync(join(outDir, `${name}.md`), L.join('\n'));
  return join(outDir, `${name}.md`);
}

/**
 * The dial benchmark's report (bench/dial.ts): the acceptance checks, one Markdown table per
 * model and the SVG of quality against CPU ms per query.
 */
import { clusterBootstrap } from '../src/eval/bootstrap.js';
import type { MatMambaVisionConfig } from '../src/model/config.js';
import { STANDARD_WIDTHS } from '../src/model/nesting.js';
import { chartRow, type Series } from '../src/util/svg-plot.js';
import { machine, mdTable } from './util.js';

export interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
}

/** One width at one client count, over HTTP. */
export interface LevelRow {
  readonly clients: number;
  readonly queries: number;
  /** Wall time the clients took for them (summed over rounds). */
  readonly seconds: number;
  /** The median round's queries/s. */
  readonly qps: number;
  /** All rounds' queries over all their wall time. */
  readonly pooledQps: number;
  /** Each round's queries/s, in the order the rounds ran. */
  readonly roundQps: readonly number[];
  /** timings_ms.total: arrival to response, inside the server (queue, decode, encode, search). */
  readonly server: Stats;
  /** The client's round trip: upload, server, download. */
  readonly endToEnd: Stats;
  /** timings_ms.encode: the query's one encode at its width. */
  readonly encode: Stats;
  readonly decode: Stats;
  /** The server process's CPU time (user + system, every thread) over the queries. */
  readonly cpuMsPerQuery: number;
  /** Responses with encode 0 (a cached vector): there should be none, every upload differs. */
  readonly cacheHits: number;
  /** Responses with a refine pass (refined, refine_encode > 0, or another rerank width). */
  readonly secondEncodes: number;
  /** Responses encoded at another width than asked. */
  readonly wrongWidth: number;
  readonly failed: Record<string, number>;
}

export interface Quality {
  /** Queries with a relevant image (all of them on the emoji sets). */
  readonly queries: number;
  readonly mapAt10: number;
  readonly recallAt1: number;
  readonly recallAt10: number;
  /** Encoder calls the searches made: one per search means no query was encoded twice. */
  readonly encoderCalls: number;
  readonly searches: number;
  /** Mean encode ms of those in-process searches (the bench process, not the server). */
  readonly inProcessEncodeMs: number;
}

export interface WidthResult {
  readonly width: string;
  readonly mix: boolean;
  readonly macs: number;
  readonly levels: LevelRow[];
  /** By eval set name; null for a model with random weights. */
  readonly quality: Record<string, Quality> | null;
}

export interface ModelResult {
  readonly name: string;
  readonly role: 'shipped' | '35M';
  readonly modelDir: string;
  readonly modelId: string;
  readonly randomWeights: boolean;
  readonly config: MatMambaVisionConfig;
  readonly libraryImages: number;
  readonly queriesPerLevel: number;
  readonly widths: WidthResult[];
}

export interface EvalSetInfo {
  readonly name: string;
  readonly description: string;
  /** Image files, and library images: files with the same bytes are one image. */
  readonly files: number;
  readonly images: number;
  readonly queries: number;
}

export interface DialResult {
  readonly bench: 'dial';
  readonly quick: boolean;
  readonly machine: ReturnType<typeof machine>;
  readonly load: { start: number; end: number };
  readonly minutes: number;
  readonly clients: readonly number[];
  /** Rounds the widths take turns in, per model role. */
  readonly rounds: { readonly shipped: number; readonly big: number };
  readonly server: string;
  readonly queryImages: string;
  readonly evalSets: EvalSetInfo[];
  readonly models: ModelResult[];
  readonly acceptance: ReturnType<typeof acceptance>;
}

const standard = (m: ModelResult) =>
  STANDARD_WIDTHS.map((w) => m.widths.find((x) => x.width === w)).filter(
    (x): x is WidthResult => x !== undefined,
  );

/** CPU ms per query on the plot and in the tables: the server's encode p50 at the first level. */
export const cpuMsOf = (w: WidthResult) => w.levels[0]?.encode.p50 ?? NaN;

/**
 * A narrower width's rate over the next wider one's, paired by round (both ran within seconds
 * of each other, so a slow drift of the machine's speed falls on both): the geometric mean of
 * the per-round ratios, with a 95% bootstrap interval over rounds.
 */
function pairedRatio(narrow: readonly number[], wide: readonly number[]) {
  const n = Math.min(narrow.length, wide.length);
  const logs = Float64Array.from({ length: n }, (_, r) => Math.log(narrow[r]! / wide[r]!));
  const b = clusterBootstrap(
    logs,
    Int32Array.from({ length: n }, (_, r) => r),
    { seed: 1 },
  );
  const x = (v: number) => +Math.exp(v).toFixed(3);
  return { ratio: x(b.mean), lo: x(b.lo), hi: x(b.hi), rounds: n };
}

export function acceptance(models: readonly ModelResult[]) {
  const narrowing = models.flatMap((m) => {
    const std = standard(m);
    return (std[0]?.levels ?? []).map((level, li) => {
      const qps = std.map((w) => w.levels[li]!.qps);
      const steps = std.slice(1).map((w, i) => ({
        from: std[i]!.width,
        to: w.width,
        ...pairedRatio(w.levels[li]!.roundQps, std[i]!.levels[li]!.roundQps),
      }));
      return {
        model: m.name,
        clients: level.clients,
        qps: Object.fromEntries(std.map((w, i) => [w.width, qps[i]!])),
        steps,
        // Strictly more: every step's paired interval lies above 1.
        strictlyIncreasing: steps.every((st) => st.lo > 1),
      };
    });
  });
  const big = models.find((m) => m.role === '35M');
  const at = (w: string) => big?.widths.find((x) => x.width === w);
  const ratio35M = (at('1')?.levels ?? []).map((full, li) => {
    const eighth = at('1/8')!.levels[li]!;
    const ratio = eighth.qps / full.qps;
    return {
      clients: full.clients,
      qpsAt1: full.qps,
      qpsAt1of8: eighth.qps,
      ratio: +ratio.toFixed(2),
      atLeast3x: ratio >= 3,
    };
  });
  const levels = models.flatMap((m) => m.widths.flatMap((w) => w.levels));
  const inProcess = models.flatMap((m) => m.widths.flatMap((w) => Object.values(w.quality ?? {})));
  const http = {
    responses: levels.reduce((a, l) => a + l.queries, 0),
    secondEncodes: levels.reduce((a, l) => a + l.secondEncodes, 0),
    cacheHits: levels.reduce((a, l) => a + l.cacheHits, 0),
    wrongWidth: levels.reduce((a, l) => a + l.wrongWidth, 0),
    failed: levels.reduce((a, l) => a + Object.values(l.failed).reduce((x, y) => x + y, 0), 0),
  };
  const searches = inProcess.reduce((a, q) => a + q.searches, 0);
  const encoderCalls = inProcess.reduce((a, q) => a + q.encoderCalls, 0);
  return {
    narrowing,
    narrowingMet: narrowing.every((n) => n.strictlyIncreasing),
    ratio35M,
    ratio35MMet: ratio35M.length > 0 && ratio35M.every((r) => r.atLeast3x),
    oneEncode: {
      http,
      inProcess: { searches, encoderCalls },
      met: http.secondEncodes === 0 && encoderCalls === searches,
    },
  };
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const pct = (x: number | undefined) => (x === undefined ? '-' : (100 * x).toFixed(1));
const yes = (b: boolean) => (b ? 'yes' : '**no**');

function modelTable(m: ModelResult, sets: readonly EvalSetInfo[]): string {
  const levels = m.widths[0]?.levels ?? [];
  const c = (n: number) => `${n} client${n === 1 ? '' : 's'}`;
  const head = [
    'width',
    'MMACs / image',
    'CPU ms / query (encode p50)',
    'server CPU ms / query',
    ...levels.flatMap((l) => [
      `server p50 / p95 ms, ${c(l.clients)}`,
      `end to end p50 / p95 ms, ${c(l.clients)}`,
      `q/s, ${c(l.clients)}`,
    ]),
    ...(m.randomWeights ? [] : sets.flatMap((s) => [`mAP@10 % (${s.name})`, `R@10 % (${s.name})`])),
  ];
  const rows = m.widths.map((w) => [
    w.mix ? `${w.width} (Mix'n'Match)` : w.width,
    f(w.macs / 1e6, 2),
    f(cpuMsOf(w), 2),
    f(w.levels[0]?.cpuMsPerQuery ?? NaN, 1),
    ...w.levels.flatMap((l) => [
      `${f(l.server.p50)} / ${f(l.server.p95)}`,
      `${f(l.endToEnd.p50)} / ${f(l.endToEnd.p95)}`,
      f(l.qps, 1),
    ]),
    ...(m.randomWeights
      ? []
      : sets.flatMap((s) => [
          pct(w.quality?.[s.name]?.mapAt10),
          pct(w.quality?.[s.name]?.recallAt10),
        ])),
  ]);
  return mdTable(head, rows);
}

/** How much of the server's time the encode is at full width, one client. */
function encodeShare(m: ModelResult): string {
  const l = m.widths.find((w) => w.width === '1')?.levels[0];
  if (!l || !(l.server.p50 > 0)) return '';
  return (
    ` At width 1 and ${l.clients} client(s) the encode takes ${f(l.encode.p50, 2)} ms of the ` +
    `${f(l.server.p50, 2)} ms server-side p50 (${f((100 * l.encode.p50) / l.server.p50, 0)}%).`
  );
}

export function report(r: DialResult): string {
  const a = r.acceptance;
  const [shipped, big] = [
    r.models.find((m) => m.role === 'shipped'),
    r.models.find((m) => m.role === '35M'),
  ];
  const lines: string[] = [
    r.quick
      ? '# Dial: quality and cost per query width (QUICK RUN)'
      : '# Dial: quality and cost per query width',
    '',
  ];
  if (r.quick)
    lines.push(
      `> **Quick smoke run** (\`npm run bench -- dial --quick\`): ${shipped?.queriesPerLevel ?? '-'} ` +
        `queries per width and client count on the shipped model, ${big?.queriesPerLevel ?? '-'} on ` +
        `35M, a 35M library of ${big?.libraryImages ?? '-'} images, quality on samples/ only, on a ` +
        `machine shared with a training job. It checks that the bench runs; its numbers are not ` +
        `the measurement. The full run is \`npm run bench -- dial\`.`,
      '',
    );
  lines.push(
    `${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}, ${r.machine.date}; ` +
      `1-minute load ${r.load.start} at the start, ${r.load.end} at the end; ${r.minutes} min.`,
    '',
    '## How',
    '',
    `- Cost: ${r.server}, over loopback, on a library embedded at full width. For each client ` +
      `count (${r.clients.join(', ')}), that many clients of our own (node:http, keep-alive) upload ` +
      `query images one after another (POST /api/search, multipart, k 10, refine off). The widths ` +
      `take turns in rounds (${r.rounds.shipped} for the shipped model, whose widths differ by a ` +
      `few % of a query's CPU; ${r.rounds.big} at 35M), the order rotated each round, after an untimed warm-up ` +
      `per width (its ONNX export and a session on each encoder worker). Before each timed batch, ` +
      `two untimed queries at its width: at 35M an exported Mix'n'Match model is larger than the ` +
      `encoder's cache of exported specs (16 MiB), so turning from one spec to the other exports ` +
      `it again (seconds); the batches measure each width warm.`,
    `- Query images: ${r.queryImages}. A repeated image would be answered from that cache and ` +
      `show encode 0, measuring no encoder at all; cache hits are counted below.`,
    '- End to end: upload, decode, encode, search and download, timed by the client. Server side: ' +
      'timings_ms.total (arrival to response inside the server). q/s: the median round of each ' +
      "width's queries answered over the clients' wall time for them (a burst of the machine's " +
      'other load spoils one round, not the width); dial.json also has the pooled rate ' +
      '(pooledQps, every round together) and every round. Neighbouring widths are compared ' +
      'round by round: the ratio of their rates in each round, whose geometric mean and 95% ' +
      'bootstrap interval (over rounds) the acceptance reports; a slow change in the speed of ' +
      'the machine falls on both sides of each ratio.',
    "- CPU ms per query: the server's encode time (timings_ms.encode, p50 at the first client " +
      "count), the x axis of the figure. Server CPU ms / query: the server process's CPU time (all " +
      'threads, /proc) over those queries, so HTTP, multipart, decode and search too.',
    '- Quality (the shipped model only; the 35M weights are random): in-process through the ' +
      'library API, searched the way the server searches (one encode at the query width, the ' +
      'shortlist rescored exactly against the stored full-width vectors, refine off; ' +
      'near-duplicate dropping off), each image decoded once. Relevant = the same emoji drawn by ' +
      "another vendor; the query's own vendor is excluded. Sets:",
    ...r.evalSets.map(
      (s) =>
        `  - ${s.name}: ${s.description} (${s.files} files, ${s.images} library images` +
        `${s.files > s.images ? ': files with the same bytes are one image' : ''}; ${s.queries} queries).`,
    ),
    '',
  );
  for (const m of r.models) {
    const cfg = m.config;
    lines.push(
      m.role === 'shipped'
        ? `## ${m.name} (the shipped default)`
        : `## ${m.name}: the 35M preset, random weights (cost only)`,
      '',
      `\`${m.modelId}\`: d_model ${cfg.dModel}, ${cfg.nLayer} layers, ${cfg.imageSize} px in ` +
        `${cfg.patchSize} px patches. Library of ${m.libraryImages} images; ${m.queriesPerLevel} ` +
        `queries per width and client count.${encodeShare(m)}`,
      '',
      modelTable(m, r.evalSets),
    );
  }
  lines.push('## Acceptance', '');
  for (const n of a.narrowing)
    lines.push(
      `- ${n.model}, ${n.clients} client(s): q/s ${Object.entries(n.qps)
        .map(([w, q], i, all) => {
          const prev = i === 0 ? undefined : all[i - 1]![1];
          return `${prev === undefined ? '' : q > prev ? ' < ' : ' >= '}${f(q)} (${w})`;
        })
        .join(
          '',
        )} (median rounds); narrower over wider, paired by round (${n.steps[0]?.rounds ?? 0} ` +
        `rounds, 95% interval): ${n.steps
          .map((st) => `${st.to} / ${st.from} ${st.ratio}x [${st.lo}, ${st.hi}]`)
          .join(', ')}: strictly more as the width narrows (every interval above 1): ` +
        `${yes(n.strictlyIncreasing)}`,
    );
  for (const x of a.ratio35M)
    lines.push(
      `- 35M, ${x.clients} client(s): width 1/8 gives ${f(x.qpsAt1of8)} q/s, width 1 ` +
        `${f(x.qpsAt1)}: ${x.ratio}x, at least 3x: ${yes(x.atLeast3x)}`,
    );
  const o = a.oneEncode;
  lines.push(
    `- Refine off, no query encoded more than once: ${yes(o.met)}. Over HTTP, ${o.http.responses} ` +
      `responses: ${o.http.secondEncodes} with a second (refine) encode, ${o.http.cacheHits} ` +
      `answered from the query cache (encode 0), ${o.http.wrongWidth} at another width, ` +
      `${o.http.failed} failed. In process: ${o.inProcess.encoderCalls} encoder calls for ` +
      `${o.inProcess.searches} searches.`,
    '',
    '![quality against CPU ms per query](dial.svg)',
    '',
  );
  return lines.join('\n');
}

/** mAP@10 and recall@10 of the shipped model against CPU ms per query, one point per width. */
export function plot(r: DialResult): string {
  const m = r.models.find((x) => x.role === 'shipped')!;
  const chart = (metric: 'mapAt10' | 'recallAt10', title: string) => ({
    series: r.evalSets.flatMap((s): Series[] => {
      const point = (w: WidthResult) => ({
        x: cpuMsOf(w),
        y: 100 * (w.quality?.[s.name]?.[metric] ?? NaN),
        label: w.width,
      });
      return [
        { name: `${s.name}: nested`, points: m.widths.filter((w) => !w.mix).map(point) },
        {
          name: `${s.name}: Mix'n'Match`,
          line: false,
          points: m.widths.filter((w) => w.mix).map(point),
        },
      ];
    }),
    options: {
      title: `${m.name}: ${title} vs CPU ms per query${r.quick ? ' (quick run)' : ''}`,
      xLabel: 'CPU ms per query (server encode p50)',
      yLabel: `${title} (%)`,
      width: 560,
      height: 420,
    },
  });
  return chartRow([chart('mapAt10', 'mAP@10'), chart('recallAt10', 'recall@10')]);
}

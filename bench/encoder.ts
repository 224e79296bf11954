/**
 * The fast encoder runtime against tfjs, and MatMamba-Vision against a ViT across resolutions.
 *   npm run bench -- encoder [--reps 3] [--heavy-reps 1] [--quick] [--only int8 [--configs ...]]
 *
 * `--only int8`: the int8 encoder beside fp32 alone (encoder-int8.ts, its own report).
 *
 * 1. Widths 1, 1/2, 1/4, 1/8 and two Mix'n'Match points (widthsForBudget halfway between
 *    standard costs) of `tiny` and `35M`, batch 1 and 32: one onnxruntime session on one thread
 *    (what each encoder worker runs, in micro-batches of 4) beside the tfjs wasm forward,
 *    interleaved rep by rep. The single-core ORT matmul peak is timed inside the 35M batch-32
 *    loop, so both see the same machine load.
 * 2. The Encoder (worker pool over every core) on batches of 32.
 * 3. MatMamba-Vision 35M against ViT-S/16 at 224-1024 px, batch 1, positions interpolated.
 * Writes docs/bench/encoder.{json,md,svg}. Medians of the reps, min-max in brackets.
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ValidationError } from '../src/errors.js';
import { initBackend } from '../src/model/backend.js';
import { makeConfig, presetConfig, type MatMambaVisionConfig } from '../src/model/config.js';
import { modelCost } from '../src/model/cost.js';
import { STANDARD_WIDTHS } from '../src/model/nesting.js';
import { MatMambaVision } from '../src/model/vision.js';
import { Encoder } from '../src/runtime/encoder.js';
import { exportMatMamba } from '../src/runtime/export-matmamba.js';
import { exportVit } from '../src/runtime/export-vit.js';
import { widthsForBudget } from '../src/runtime/mix-n-match.js';
import { GraphBuilder } from '../src/runtime/onnx-graph.js';
import { createSession, runImages, runRaw, type OrtSession } from '../src/runtime/onnx.js';
import { randomVitWeights, vitCost, VIT_S16 } from '../src/runtime/vit.js';
import { Rng } from '../src/util/rng.js';
import { benchEncoderInt8 } from './encoder-int8.js';
import { machine, writeReport } from './util.js';
import { acceptance, fmt, gflops, plot, report, type Stat } from './encoder-report.js';

/** One thing to time; `run` handles `items` images (or one matmul). */
interface Case {
  readonly key: string;
  readonly items: number;
  readonly reps: number;
  /** Run once untimed first (default true; off only for the minute-long tfjs batches). */
  readonly warmup?: boolean;
  readonly run: () => Promise<void>;
}

/** Warms the cases once, then times rep by rep with the cases interleaved; ms per item. */
async function interleaved(cases: readonly Case[]): Promise<Map<string, Stat>> {
  for (const c of cases) if (c.warmup !== false) await c.run();
  const times = new Map<string, number[]>(cases.map((c) => [c.key, []]));
  const reps = Math.max(...cases.map((c) => c.reps));
  for (let r = 0; r < reps; r++) {
    for (const c of cases) {
      if (r >= c.reps) continue;
      const t0 = performance.now();
      await c.run();
      times.get(c.key)!.push((performance.now() - t0) / c.items);
    }
  }
  const out = new Map<string, Stat>();
  for (const [k, t] of times) {
    t.sort((a, b) => a - b);
    out.set(k, { median: t[Math.floor(t.length / 2)]!, min: t[0]!, max: t[t.length - 1]! });
  }
  return out;
}

const round = (s: Stat): Stat => ({
  median: +s.median.toFixed(3),
  min: +s.min.toFixed(3),
  max: +s.max.toFixed(3),
});

function images(n: number, S: number, C: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * S * S * C }, () => rng.normal());
}

/** Two Mix'n'Match points: the budgets halfway between 1/8 and 1/4, and between 1/2 and 1. */
function mixPoints(cfg: MatMambaVisionConfig): string[] {
  const c = (w: string) => modelCost(cfg, w).macs;
  return [
    widthsForBudget(cfg, Math.floor((c('1/8') + c('1/4')) / 2)).label,
    widthsForBudget(cfg, Math.floor((c('1/2') + c('1')) / 2)).label,
  ];
}

/** ORT [M, K] x [K, N] on one thread; `items` 1, so its time is ms per matmul. */
async function matmulCase(M: number, K: number, N: number, reps: number): Promise<Case> {
  const g = new GraphBuilder('matmul');
  const a = g.input('a', [M, K]);
  const rng = new Rng(7);
  const w = g.weight(
    'w',
    Float32Array.from({ length: K * N }, () => rng.normal()),
    [K, N],
  );
  g.output(g.op('MatMul', [a, w]), [M, N], 'y');
  const s = await createSession(g.toBytes(), 'cpu');
  const data = Float32Array.from({ length: M * K }, () => rng.normal());
  return {
    key: `${M}x${K}x${N}`,
    items: 1,
    reps,
    run: async () => void (await runRaw(s, { a: { data, dims: [M, K] } })),
  };
}

export interface WidthRow {
  config: string;
  width: string;
  batch: number;
  macs: number;
  ortMs: Stat;
  tfjsMs: Stat;
  ortGflops: number;
  tfjsGflops: number;
  speedup: number;
}

/** Every width of one config at one batch on ORT and tfjs, with `extra` cases interleaved. */
async function widthSection(
  name: string,
  batch: number,
  tfjsReps: number,
  tfjsWarmup: boolean,
  reps: number,
  extra: readonly Case[],
): Promise<{ rows: WidthRow[]; stats: Map<string, Stat> }> {
  const cfg = presetConfig(name);
  const model = MatMambaVision.create(cfg, 0);
  const widths = [...STANDARD_WIDTHS, ...mixPoints(cfg)];
  const x = images(batch, cfg.imageSize, cfg.inChans, 1);
  const xt = tf.tensor4d(x, [batch, cfg.imageSize, cfg.imageSize, cfg.inChans]);
  const cases: Case[] = [...extra];
  const sessions: OrtSession[] = [];
  for (const w of widths) {
    const ex = exportMatMamba(model, { widths: w });
    const s = await createSession(ex.bytes, 'cpu');
    sessions.push(s);
    cases.push({
      key: `ort ${w}`,
      items: batch,
      reps,
      run: async () => void (await runImages(s, x, batch, ex, 4)),
    });
    cases.push({
      key: `tfjs ${w}`,
      items: batch,
      reps: tfjsReps,
      warmup: tfjsWarmup,
      run: async () => {
        const f = model.encode(xt, w);
        f.dataSync();
        f.dispose();
      },
    });
  }
  console.log(`${name}, batch ${batch}: ${widths.length} widths on ORT and tfjs ...`);
  const stats = await interleaved(cases);
  const rows = widths.map((w) => {
    const macs = modelCost(cfg, w).macs;
    const ort = stats.get(`ort ${w}`)!;
    const tfjs = stats.get(`tfjs ${w}`)!;
    console.log(`  ${w}: ORT ${fmt(ort)} ms/image, tfjs ${fmt(tfjs)} ms/image`);
    return {
      config: name,
      width: model.widthLabel(w),
      batch,
      macs,
      ortMs: round(ort),
      tfjsMs: round(tfjs),
      ortGflops: gflops(macs, ort.median),
      tfjsGflops: gflops(macs, tfjs.median),
      speedup: +(tfjs.median / ort.median).toFixed(1),
    };
  });
  for (const s of sessions) await s.release();
  xt.dispose();
  model.dispose();
  return { rows, stats };
}

export interface PoolRow {
  config: string;
  width: string;
  workers: number;
  ms: Stat;
  imagesPerS: number;
  /** ms/image of one session on one thread at batch 32 (the width table), and the ratio. */
  singleSessionMs: number;
  speedup: number;
}

/** The Encoder (worker pool) on batches of 32, beside one session on this thread. */
async function poolSection(names: readonly string[], reps: number): Promise<PoolRow[]> {
  const rows: PoolRow[] = [];
  for (const name of names) {
    const cfg = presetConfig(name);
    const model = MatMambaVision.create(cfg, 0);
    const enc = await Encoder.open(model);
    const x = images(32, cfg.imageSize, cfg.inChans, 2);
    const widths = ['1', '1/4'];
    console.log(`${name}: Encoder (${enc.workers} workers, ${enc.provider}), batches of 32 ...`);
    const cases: Case[] = [];
    const sessions: OrtSession[] = [];
    for (const w of widths) {
      const ex = await enc.onnx(w);
      const s = await createSession(ex.bytes, 'cpu');
      sessions.push(s);
      cases.push({
        key: `pool ${w}`,
        items: 32,
        reps,
        run: async () => void (await enc.encode(x, w)),
      });
      cases.push({
        key: `single ${w}`,
        items: 32,
        reps,
        run: async () => void (await runImages(s, x, 32, ex, 4)),
      });
    }
    const stats = await interleaved(cases);
    for (const w of widths) {
      const p = stats.get(`pool ${w}`)!;
      const one = stats.get(`single ${w}`)!;
      rows.push({
        config: name,
        width: w,
        workers: enc.workers,
        ms: round(p),
        imagesPerS: +(1000 / p.median).toFixed(1),
        singleSessionMs: +one.median.toFixed(3),
        speedup: +(one.median / p.median).toFixed(2),
      });
      console.log(`  ${w}: pool ${fmt(p)} ms/image, one session ${fmt(one)}`);
    }
    for (const s of sessions) await s.release();
    await enc.close();
    model.dispose();
  }
  return rows;
}

export interface ResRow {
  size: number;
  tokens: number;
  mambaMs: Stat;
  vitMs: Stat;
  mambaGmacs: number;
  vitGmacs: number;
  vitOverMamba: number;
}

/** MatMamba-Vision 35M (full width) and ViT-S/16 at each side, batch 1, interleaved. */
async function resolutionSection(sizes: readonly number[], reps: number): Promise<ResRow[]> {
  const cfg = presetConfig('35M');
  const model = MatMambaVision.create(cfg, 0);
  const vitWeights = randomVitWeights(VIT_S16, 0);
  const rows: ResRow[] = [];
  for (const S of sizes) {
    console.log(`${S} px: MatMamba-Vision 35M and ViT-S/16 ...`);
    const x = images(1, S, 3, 3);
    const made = [exportMatMamba(model, { imageSize: S }), exportVit(VIT_S16, vitWeights, S)];
    const sessions = await Promise.all(made.map((ex) => createSession(ex.bytes, 'cpu')));
    const stats = await interleaved(
      ['mamba', 'vit'].map((key, i) => ({
        key,
        items: 1,
        reps,
        run: async () => void (await runImages(sessions[i]!, x, 1, made[i]!, 1)),
      })),
    );
    for (const s of sessions) await s.release();
    const mamba = stats.get('mamba')!;
    const vit = stats.get('vit')!;
    const row = {
      size: S,
      tokens: (S / 16) ** 2 + 1,
      mambaMs: round(mamba),
      vitMs: round(vit),
      mambaGmacs: +(modelCost(makeConfig({ ...cfg, imageSize: S }), 1).macs / 1e9).toFixed(2),
      vitGmacs: +(vitCost(VIT_S16, S).macs / 1e9).toFixed(2),
      vitOverMamba: +(vit.median / mamba.median).toFixed(2),
    };
    console.log(`  MatMamba ${fmt(mamba, 0)} ms, ViT ${fmt(vit, 0)} ms`);
    rows.push(row);
  }
  model.dispose();
  return rows;
}

export async function benchEncoder(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      reps: { type: 'string', default: '3' },
      'heavy-reps': { type: 'string', default: '1' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      configs: { type: 'string', default: 'tiny,35M,135M' },
      batches: { type: 'string', default: '1,32' },
    },
  });
  if (values.only !== undefined && values.only !== 'int8')
    throw new ValidationError(`--only must be int8, got '${values.only}'`);
  if (values.only === 'int8') {
    return benchEncoderInt8({
      configs: values.configs.split(','),
      batches: values.batches.split(',').map(Number),
      reps: Number(values.reps),
    });
  }
  const reps = Number(values.reps);
  const heavyReps = Number(values['heavy-reps']);
  const quick = values.quick === true;
  const backend = await initBackend({ purpose: 'inference' });
  const started = performance.now();
  const loadStart = +loadavg()[0]!.toFixed(2);
  const names = quick ? ['tiny'] : ['tiny', '35M'];
  const peakConfig = quick ? 'tiny' : '35M';
  // Square, the 35M in_proj at batch 32 and at the micro-batch of 4, and a cache-sized one; the
  // peak is the best median, so a shape the CPU happens to like sets the bar.
  const peakCases = [
    await matmulCase(1024, 1024, 1024, 3 * reps),
    await matmulCase(32 * 198, 512, 1024, reps),
    await matmulCase(4 * 198, 512, 1024, 3 * reps),
    await matmulCase(512, 512, 512, 3 * reps),
  ];
  const widthRows: WidthRow[] = [];
  let peak = { shape: '', gflops: 0, all: {} as Record<string, number> };
  for (const name of names) {
    for (const batch of [1, 32]) {
      const heavy = name === '35M' && batch === 32;
      const withPeak = name === peakConfig && batch === 32;
      // tiny runs take milliseconds: three times the reps steady its medians for free
      const n = name === 'tiny' ? 3 * reps : reps;
      const { rows, stats } = await widthSection(
        name,
        batch,
        heavy ? heavyReps : n,
        !heavy,
        n,
        withPeak ? peakCases : [],
      );
      widthRows.push(...rows);
      if (withPeak) {
        for (const c of peakCases) {
          const [M, K, N] = c.key.split('x').map(Number) as [number, number, number];
          const g = gflops(M * K * N, stats.get(c.key)!.median);
          peak.all[c.key] = g;
          if (g > peak.gflops) peak = { ...peak, shape: c.key, gflops: g };
        }
        console.log(`ORT single-core matmul peak: ${peak.gflops} GFLOP/s (${peak.shape})`);
      }
    }
  }
  const pool = await poolSection(names, reps);
  const sizes = quick ? [224, 384] : [224, 384, 512, 768, 1024];
  const res = await resolutionSection(sizes, reps);
  const minutes = (performance.now() - started) / 60000;
  const result = {
    bench: 'encoder',
    machine: machine(),
    tfjsBackend: backend,
    reps,
    heavyReps,
    minutes: +minutes.toFixed(1),
    load: { start: loadStart, end: +loadavg()[0]!.toFixed(2) },
    ortMatmulPeak: peak,
    widths: widthRows,
    pool,
    resolution: res,
    acceptance: acceptance(widthRows, peak.gflops, res, names),
  };
  const md = report(result);
  writeFileSync('docs/bench/encoder.svg', plot(widthRows, res, peakConfig));
  writeReport('docs/bench/encoder.json', result, 'docs/bench/encoder.md', md);
  console.log(`done in ${minutes.toFixed(1)} min; wrote docs/bench/encoder.svg`);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModelCard, type EvalReport } from '../../src/eval/model-card.js';
import { presetConfig } from '../../src/model/config.js';

const metrics = (mapAt10: number, recallAt10 = mapAt10) => ({
  queries: 10,
  recallAt1: mapAt10,
  recallAt10,
  mapAt10,
});

function report(model: string, top1: Record<string, number>, quarterMap: number): EvalReport {
  const widths = ['1', '1/2', '1/4', '1/8'];
  return {
    model,
    modelId: `${model}@abc`,
    data: 'fmnist',
    classification: Object.entries(top1).map(([width, t]) => ({
      width,
      top1: t,
      params: 1,
      macs: 1e6,
    })),
    cosineToFull: Object.fromEntries(widths.map((w) => [w, 1])),
    retrieval: {
      protocol: 'test',
      pairs: widths.flatMap((q) =>
        widths.map((d) => ({
          queryWidth: q,
          dbWidth: d,
          metrics: metrics(q === '1/4' && d === '1' ? quarterMap : 0.8),
        })),
      ),
    },
  };
}

test('a model card states each target with its measured value, and marks misses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'card-'));
  const modelDir = join(dir, 'model');
  mkdirSync(modelDir);
  const cfg = presetConfig('tiny', { imageSize: 28, patchSize: 7, inChans: 1, nClasses: 10 });
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ modelId: 'm@abc', model: cfg }));
  writeFileSync(join(modelDir, 'model.safetensors'), Buffer.alloc(2_000_000));
  mkdirSync(join(dir, 'run', 'ckpt'), { recursive: true });
  const options = {
    name: 'm',
    data: { kind: 'fmnist' },
    levels: ['1', '1/2', '1/4', '1/8'],
    steps: 100,
    units: 64,
    lr: 0.002,
    warmup: 10,
    minLrRatio: 0.01,
    weightDecay: 0.05,
    clip: 1,
    loss: { labelSmoothing: 0.1, supcon: 0, temperature: 0.1, distill: 0.5, cross: 1 },
    workers: 2,
    seed: 0,
    config: { ...cfg, patchSize: 4, dModel: 64 },
  };
  const history = [10, 20].map((step) => ({
    step,
    imagesPerS: 100 + step,
    eval: { 'top1@1': step / 25 },
  }));
  writeFileSync(
    join(dir, 'run', 'ckpt', 'state.json'),
    JSON.stringify({ step: 100, cpuSeconds: 7200, options, history }),
  );
  mkdirSync(join(dir, 'run-b', 'ckpt'), { recursive: true });
  writeFileSync(
    join(dir, 'run-b', 'ckpt', 'state.json'),
    JSON.stringify({
      step: 100,
      cpuSeconds: 3600,
      options: {
        ...options,
        name: 'b',
        levels: ['1/4'],
        config: cfg,
        loss: { ...options.loss, distill: 0, cross: 0 },
      },
      history,
    }),
  );
  const out = writeModelCard({
    modelDir,
    runDir: join(dir, 'run'),
    report: report('m', { '1': 0.915, '1/2': 0.9, '1/4': 0.89, '1/8': 0.87 }, 0.795),
    baseline: {
      width: '1/4',
      report: report('b', { '1/4': 0.905 }, 0.8),
      runDir: join(dir, 'run-b'),
    },
    evalCommand: 'npx matsearch eval --model m --data fmnist',
    outDir: join(dir, 'cards'),
  });
  const md = readFileSync(out, 'utf8');
  assert.match(md, /2\.00 CPU-hours/);
  assert.match(
    md,
    /--data fmnist --name m --steps 100 --batch 64 --lr 0\.002 --warmup 10 --patch 4 --d-model 64 --distill 0\.5 --cross 1/,
  );
  assert.match(md, /cross-width contrastive loss \(weight 1\)/);
  assert.match(md, /full width top-1 >= 91% \| 91\.50% \| met/);
  assert.match(md, /1\/8 width top-1 >= 88% \| 87\.00% \| \*\*missed\*\*/);
  assert.match(md, /loses <= 1 point of mAP@10 \| 80\.00 -> 79\.50 \(-0\.50\) \| met/);
  // With the per-query interval in the report, the card states it.
  const withCi = report('m', { '1': 0.915, '1/2': 0.9, '1/4': 0.89, '1/8': 0.87 }, 0.795);
  withCi.retrieval.queryWidthLoss = [
    {
      queryWidth: '1/4',
      dbWidth: '1',
      mapAt10Change: -0.005,
      ci95: [-0.0123, 0.0021],
      clusters: 9,
    },
  ];
  const out2 = writeModelCard({
    modelDir,
    runDir: join(dir, 'run'),
    report: withCi,
    evalCommand: 'npx matsearch eval --model m --data fmnist',
    outDir: join(dir, 'cards2'),
  });
  assert.match(
    readFileSync(out2, 'utf8'),
    /80\.00 -> 79\.50 \(-0\.50 \[-1\.23, 0\.21\], 95% interval\) \| met/,
  );
  assert.match(
    md,
    /independently trained 1\/4 model \(b\) \| 89\.00% vs 90\.50% \| \*\*missed\*\*/,
  );
  // The baseline's own section: its recipe, cost, and both models side by side at its width.
  assert.match(md, /## Independent baseline at width 1\/4/);
  assert.match(md, /Compute: 1\.00 CPU-hours/);
  assert.match(md, /--name b --steps 100 --batch 64 --lr 0\.002 --warmup 10 --width 1\/4\n/);
  assert.match(md, /\| nested \(m\) \| 89\.00 \| 80\.00 \|/);
  assert.match(md, /\| independent \(b\) \| 90\.50 \| 80\.00 \|/);
  assert.match(readFileSync(join(dir, 'cards', 'm-training.svg'), 'utf8'), /<svg/);
  rmSync(dir, { recursive: true });
});

test('a general model card gives one train command per schedule segment, and no retrieval table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'card-general-'));
  const modelDir = join(dir, 'model');
  mkdirSync(modelDir);
  const cfg = presetConfig('tiny', { imageSize: 64, patchSize: 16, inChans: 3, nClasses: 0 });
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ modelId: 'g@abc', model: cfg }));
  writeFileSync(join(modelDir, 'model.safetensors'), Buffer.alloc(1_000));
  mkdirSync(join(dir, 'run', 'ckpt'), { recursive: true });
  const options = {
    name: 'g',
    data: { kind: 'general' },
    levels: ['1', '1/2', '1/4', '1/8'],
    steps: 4000,
    units: 128,
    lr: 0.0015,
    warmup: 40,
    minLrRatio: 0.01,
    weightDecay: 0.05,
    clip: 1,
    loss: { labelSmoothing: 0.1, supcon: 1, temperature: 0.1, distill: 0, cross: 0 },
    workers: 2,
    shards: 2,
    greyRate: 0.5,
    seed: 0,
    config: cfg,
  };
  // Trained to 3000 of 3000; resumed with --steps 4000 and stopped at 3047; resumed with --grey.
  const schedule = [
    { fromStep: 0, steps: 3000 },
    { fromStep: 3000, steps: 4000 },
    { fromStep: 3047, steps: 4000, greyRate: 0.5 },
    {
      fromStep: 3060,
      steps: 4000,
      greyRate: 0.5,
      stylePairs: { crossStyle: 1, repeats: 3, augment: 'mild' },
    },
    {
      fromStep: 3080,
      steps: 4000,
      greyRate: 0.5,
      stylePairs: { crossStyle: 1, repeats: 3, augment: 'mild' },
      categoryPairs: { rate: 0.5, repeats: 2 },
    },
  ];
  const history = [{ step: 3100, imagesPerS: 200, eval: { 'copy-recall@1@1': 0.45 } }];
  writeFileSync(
    join(dir, 'run', 'ckpt', 'state.json'),
    JSON.stringify({ step: 3100, cpuSeconds: 36000, options, history, schedule }),
  );
  const out = writeModelCard({
    modelDir,
    runDir: join(dir, 'run'),
    report: null,
    evalCommand: 'npx matsearch eval --model models/g --data general --card docs/models',
    outDir: join(dir, 'cards'),
  });
  const md = readFileSync(out, 'utf8');
  const base = 'npx matsearch train --data general --name g';
  const rest = '--batch 256 --lr 0.0015 --warmup 40 --shards 2';
  assert.ok(md.includes(`${base} --steps 3000 ${rest}\n`), md);
  assert.ok(md.includes(`${base} --steps 4000 ${rest} --resume --stop-after-steps 47\n`), md);
  assert.ok(
    md.includes(`${base} --steps 4000 ${rest} --grey 0.5 --resume --stop-after-steps 13\n`),
    md,
  );
  // The run stopped at 3100 of its last schedule's 4000 steps; its last two segments gave
  // --style-*, the last also --category-*.
  const style = '--style-pairs 1 --style-repeats 3 --style-augment mild';
  const category = '--category-pairs 0.5 --category-repeats 2';
  assert.ok(
    md.includes(
      `${base} --steps 4000 ${rest} --grey 0.5 ${style} --resume --stop-after-steps 20\n`,
    ),
    md,
  );
  assert.ok(
    md.includes(
      `${base} --steps 4000 ${rest} --grey 0.5 ${style} ${category} --resume --stop-after-steps 20\n`,
    ),
    md,
  );
  assert.ok(
    md.includes(
      `${base} --steps 3100 ${rest} --grey 0.5 ${style} ${category} --resume   # no further`,
    ),
    md,
  );
  assert.match(md, /\| 3048-3060 \| 4000 steps \| 0\.5 \| default \| none \|/);
  assert.match(md, /\| 3061-3080 \| 4000 steps \| 0\.5 \| rate 1, drawn 3x, mild views \| none \|/);
  assert.match(
    md,
    /\| 3081-3100 \| 4000 steps \| 0\.5 \| rate 1, drawn 3x, mild views \| rate 0\.5, drawn 2x \|/,
  );
  assert.match(
    md,
    /; steps 3061-3080: in every draw, such keys drawn 3x as often, with mild views/,
  );
  assert.match(
    md,
    /; steps 3081-3100: in 50% of the other draws of a training clip-art image, another image of its category/,
  );
  assert.match(md, /npx matsearch data --corpus all/);
  assert.match(md, /10\.00 CPU-hours/);
  assert.match(md, /InfoNCE/);
  assert.doesNotMatch(md, /## Metrics/);
  assert.match(readFileSync(join(dir, 'cards', 'g-training.svg'), 'utf8'), /copy-recall/);
  rmSync(dir, { recursive: true });
});

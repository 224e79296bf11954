/** End to end: a run stopped and resumed continues the same data order and gives the same losses and weights. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '../../src/model/config.js';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import { train, type TrainOptions } from '../../src/train/trainer.js';
import { writeFakeFashionMnist } from './fixtures.js';

test('resume reproduces the uninterrupted run exactly', async () => {
  const root = mkdtempSync(join(tmpdir(), 'resume-'));
  writeFakeFashionMnist(root, 48, 16);
  const config = makeConfig({
    dModel: 16,
    nLayer: 2,
    dState: 4,
    headDim: 2,
    patchSize: 7,
    imageSize: 28,
    inChans: 1,
    nClasses: 10,
  });
  const base: TrainOptions = {
    name: 'resume-test',
    config,
    data: { kind: 'fmnist' },
    dataRoot: root,
    runDir: join(root, 'run-a'),
    outDir: join(root, 'out-a'),
    levels: ['1', '1/2', '1/4', '1/8'],
    steps: 4,
    units: 8,
    lr: 5e-3,
    warmup: 2,
    minLrRatio: 0.01,
    weightDecay: 0.05,
    clip: 1,
    loss: { labelSmoothing: 0.1, supcon: 0, temperature: 0.1, distill: 0 },
    workers: 2,
    seed: 3,
    checkpointMinutes: 0, // checkpoint every step
    evalEvery: 100,
    evalImages: 16,
    resume: false,
  };
  const quiet = () => {};
  const straight = await train(base, quiet);
  const b = { ...base, runDir: join(root, 'run-b'), outDir: join(root, 'out-b') };
  const first = await train({ ...b, stopAfterSteps: 2 }, quiet); // interrupted after 2 steps
  assert.deepEqual(
    first.map((r) => r.step),
    [1, 2],
  );
  const resumed = await train({ ...b, resume: true }, quiet);
  assert.deepEqual(
    resumed.map((r) => r.step),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    resumed.map((r) => r.loss),
    straight.map((r) => r.loss),
    'losses differ after resume',
  );
  const wa = readSafetensors(join(root, 'out-a', 'model.safetensors')).tensors;
  const wb = readSafetensors(join(root, 'out-b', 'model.safetensors')).tensors;
  for (const [k, t] of wa) assert.deepEqual(wb.get(k)!.data, t.data, `${k} differs after resume`);
  // No checkpoint file outgrows the weights, headers aside (so a run's checkpoint can be committed).
  const ck = join(root, 'run-b', 'ckpt');
  const sizes = new Map(readdirSync(ck).map((f) => [f, statSync(join(ck, f)).size]));
  for (const [f, n] of sizes)
    assert.ok(n <= sizes.get('model.safetensors')! + 1024, `${f} is ${n} bytes, above the weights`);
  // A checkpoint in the older layout (both moments in one optimizer.safetensors) resumes too.
  const c = { ...base, runDir: join(root, 'run-c'), outDir: join(root, 'out-c') };
  await train({ ...c, stopAfterSteps: 2 }, quiet);
  const old = join(root, 'run-c', 'ckpt');
  const m = readSafetensors(join(old, 'optimizer-m.safetensors'));
  const v = readSafetensors(join(old, 'optimizer-v.safetensors'));
  const both = new Map(
    [...m.tensors, ...v.tensors].map(([k, t]) => [k, { shape: t.info.shape, data: t.data }]),
  );
  writeSafetensors(join(old, 'optimizer.safetensors'), both, m.metadata);
  rmSync(join(old, 'optimizer-m.safetensors'));
  rmSync(join(old, 'optimizer-v.safetensors'));
  const fromOld = await train({ ...c, resume: true }, quiet);
  assert.deepEqual(
    fromOld.map((r) => r.loss),
    straight.map((r) => r.loss),
    'losses differ after resuming the older layout',
  );
  // A checkpoint written before a config field existed (here `pool`) resumes under its default.
  const e = { ...base, runDir: join(root, 'run-e'), outDir: join(root, 'out-e') };
  await train({ ...e, stopAfterSteps: 2 }, quiet);
  const statePath = join(root, 'run-e', 'ckpt', 'state.json');
  const saved = JSON.parse(readFileSync(statePath, 'utf8')) as {
    options: { config: Record<string, unknown> };
  };
  delete saved.options.config['pool'];
  writeFileSync(statePath, JSON.stringify(saved));
  assert.deepEqual(
    (await train({ ...e, resume: true }, quiet)).map((r) => r.loss),
    straight.map((r) => r.loss),
    'losses differ after resuming a checkpoint without pool',
  );
  await assert.rejects(
    train({ ...e, config: makeConfig({ ...config, pool: 'avg' }), resume: true }, quiet),
    { code: 'E_VALIDATION', message: /its config was/ },
  );
  // Resuming with other options is refused rather than silently mixing runs.
  await assert.rejects(train({ ...b, resume: true, seed: 4 }, quiet), {
    code: 'E_VALIDATION',
    message: /its seed was 3, now 4/,
  });
  assert.ok(straight.every((r) => Object.values(r.loss).every(Number.isFinite)));
  // A run resumed with a longer --steps records the schedules it went through, so its card can
  // give one command per segment; from the resume on it follows the new schedule.
  const d = { ...base, runDir: join(root, 'run-d'), outDir: join(root, 'out-d') };
  const short = await train({ ...d, steps: 2 }, quiet);
  const longer = await train({ ...d, resume: true }, quiet);
  const state = JSON.parse(readFileSync(join(root, 'run-d', 'ckpt', 'state.json'), 'utf8')) as {
    schedule: unknown;
  };
  assert.deepEqual(state.schedule, [
    { fromStep: 0, steps: 2 },
    { fromStep: 2, steps: 4 },
  ]);
  assert.deepEqual(
    short.map((r) => r.step),
    [1, 2],
  );
  assert.deepEqual(
    longer.slice(2).map((r) => r.lr),
    straight.slice(2).map((r) => r.lr),
  );
  rmSync(root, { recursive: true });
});

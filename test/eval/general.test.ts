/**
 * The general evaluation end to end on a synthetic corpus where the answers are known: exact
 * copies must be found by every sound method, and a missing task says why it was skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { writeSource, type CorpusEntry } from '../../src/data/corpus/manifest.js';
import { evaluateGeneral } from '../../src/eval/general.js';
import { ValidationError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';

/** Writes n blocky random PNGs for `source` and its manifest. */
async function writeSourceImages(
  root: string,
  source: string,
  kind: 'photo' | 'icon',
  n: number,
  seed: number,
) {
  const dir = join(root, 'corpus', source);
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const entries: CorpusEntry[] = [];
  for (let i = 0; i < n; i++) {
    const W = 96;
    const H = 64;
    const px = new Uint8Array(W * H * 3);
    const blocks = Array.from({ length: 24 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        px.set(blocks[Math.floor(y / 16) * 6 + Math.floor(x / 16)]!, (y * W + x) * 3);
    const file = `${i}.png`;
    await sharp(px, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(join(dir, file));
    entries.push({
      file,
      source,
      kind,
      style: source,
      key: null,
      category: null,
      licence: 'CC0-1.0',
    });
  }
  writeSource({ source, packages: ['test'], licence: 'CC0-1.0', credit: 'test' }, entries, root);
}

/** A stand-in encoder: the mean of each of 4x4 cells per channel, shrunk at narrower widths. */
const fakeEmbedder: Embedder = {
  modelId: 'fake@0',
  dim: 48,
  inputSize: 16,
  inputChannels: 3,
  widthLabel: (w) => String(w),
  widthRank: () => 1,
  async embed(inputs) {
    return inputs.map((x) => {
      const v = new Float32Array(48);
      for (let i = 0; i < 16 * 16; i++) {
        const cell = Math.floor(Math.floor(i / 16) / 4) * 4 + Math.floor((i % 16) / 4);
        for (let c = 0; c < 3; c++) v[cell * 3 + c]! += x[i * 3 + c]!;
      }
      const n = Math.hypot(...v) || 1;
      return v.map((a) => a / n);
    });
  },
  async close() {},
};

/** A model folder with only the config.json the report reads (the embedder is fakeEmbedder). */
function fakeModelDir(root: string): string {
  const dir = join(root, 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: 'fake', modelId: 'fake@0' }));
  return dir;
}

test('copy detection on synthetic photos: exact copies found by every method, per-transform rows, skips stated', async () => {
  const root = mkdtempSync(join(tmpdir(), 'general-eval-'));
  try {
    await writeSourceImages(root, 'gcompris-qt-data', 'photo', 12, 1);
    await writeSourceImages(root, 'other-photos', 'photo', 30, 2);
    const modelDir = fakeModelDir(root);
    const base = {
      modelDir,
      outDir: join(root, 'out'),
      dataRoot: root,
      embedder: fakeEmbedder,
      distractors: 30,
      transforms: ['identity', 'rot90'],
      tasks: ['copy', 'style'] as const,
      log: () => {},
    };
    await assert.rejects(evaluateGeneral(base), ValidationError); // 12 < 300 photos
    const r = await evaluateGeneral({ ...base, allowSmall: true });
    const copy = r.tasks.find((t) => t.task === 'copy')!;
    assert.equal(copy.status, 'ok');
    const set = copy.sets[0]!;
    assert.equal(set.queries, 24);
    assert.equal(set.database, 42);
    assert.equal(set.clusters, 12);
    const identity = set.breakdown!.find((g) => g.name === 'identity')!;
    assert.equal(identity.queries, 12);
    for (const m of ['model@1', 'model@1/8', 'thumb16', 'thumb32', 'dhash', 'phash'])
      assert.equal(identity.methods[m]!.recallAt1!.mean, 1, m);
    // The colour histogram ignores layout, so a rotated copy has the original's histogram.
    const rot = set.breakdown!.find((g) => g.name === 'rot90')!;
    assert.equal(rot.methods['colour-hist']!.recallAt10!.mean, 1);
    // Same vectors at every width: no nesting loss.
    assert.ok(set.nesting.every((n) => n.change.mean === 0));
    const style = r.tasks.find((t) => t.task === 'style')!;
    assert.equal(style.status, 'skipped');
    assert.match(style.reason!, /noto-v1 \(not in the corpus\)/);
    assert.ok(r.partial);
    const md = readFileSync(join(root, 'out', 'fake-general.md'), 'utf8');
    assert.match(md, /skipped: no held-out style/);
    assert.match(md, /\| identity \| 100\.0 \[100\.0, 100\.0\] \|/);
    assert.match(
      md,
      /copy detection recall@1 >= 85% on every transform \| worst: rot90 .* \*\*missed\*\*/,
    );
    assert.match(md, /only 12 held-out photos/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--split train: copy detection on training photos (never held-out ones), its own report, no acceptance', async () => {
  const root = mkdtempSync(join(tmpdir(), 'general-eval-'));
  try {
    await writeSourceImages(root, 'gcompris-qt-data', 'photo', 6, 1);
    await writeSourceImages(root, 'other-photos', 'photo', 20, 2);
    await writeSourceImages(root, 'icons', 'icon', 5, 3);
    const modelDir = fakeModelDir(root);
    const r = await evaluateGeneral({
      modelDir,
      outDir: join(root, 'out'),
      dataRoot: root,
      embedder: fakeEmbedder,
      distractors: 5,
      transforms: ['identity'],
      tasks: ['copy', 'style'],
      split: 'train',
      allowSmall: true,
      log: () => {},
    });
    assert.equal(r.split, 'train');
    assert.deepEqual(r.acceptance, []);
    assert.deepEqual(
      r.tasks.map((t) => t.task),
      ['copy'],
    );
    const set = r.tasks[0]!.sets[0]!;
    // All 20 training photos are originals (fewer than 300: allowSmall); the distractors are
    // neither those nor held-out photos, so only the 5 icons remain.
    assert.equal(set.clusters, 20);
    assert.equal(set.database, 25);
    assert.match(r.tasks[0]!.notes.join(' '), /20 training originals \+ 5 distractors \(icons 5\)/);
    assert.match(r.tasks[0]!.notes.join(' '), /only 20 training photos/);
    const md = readFileSync(join(root, 'out', 'fake-general-train.md'), 'utf8');
    assert.match(md, /Validation on training photos, not held out/);
    assert.ok(!existsSync(join(root, 'out', 'fake-general.md')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a model card never takes a validation run: eval --data general --split train --card is refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'general-eval-'));
  try {
    const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    const card = join(root, 'cards');
    const args = ['eval', '--model', join(root, 'm'), '--data', 'general', '--split', 'train'];
    const r = spawnSync(process.execPath, [cli, ...args, '--card', card], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /a model card reports held-out data: drop --split train/);
    assert.ok(!existsSync(card));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the general section of a card is appended once, then replaced in place', async () => {
  const { withSection, GENERAL_START, GENERAL_END } =
    await import('../../src/eval/general-card.js');
  const sec = (x: string) => `${GENERAL_START}\n${x}\n${GENERAL_END}`;
  const once = withSection('# Card\n\nbody\n', sec('one'));
  assert.equal(once, `# Card\n\nbody\n\n${sec('one')}\n`);
  const twice = withSection(once, sec('two'));
  assert.equal(twice, `# Card\n\nbody\n\n${sec('two')}\n`);
});

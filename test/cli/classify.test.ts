/**
 * `matsearch classify` on the PyTorch-made fixture checkpoint, imported as a user would: its
 * classes and probabilities equal the float64 reference's (softmax of the reference logits) at
 * two widths; the text output names the classes; a model without a head is refused; and the
 * label rule (config labels, else ImageNet-1k for 1000 classes, else indices).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryDecodeOptions } from '../../src/embed/input-options.js';
import { classLabels, IMAGENET_LABELS } from '../../src/model/class-labels.js';
import { importCheckpoint } from '../../src/model/import-checkpoint.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { decodeInput } from '../../ingest/decode.js';
import { fixtureWeights, FIXTURE_REF, HUB_FIXTURE, refTopClasses } from '../classify/fixture.js';
import { saveTestModel } from '../ingest/fixtures.js';
import { setup } from '../helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const photo = (n: string) =>
  fileURLToPath(new URL(`../../../samples/photos/animals-${n}.jpg`, import.meta.url));
const IMAGES = [photo('giraffe'), photo('gorilla')];
const NAMES = Array.from({ length: 10 }, (_, i) => `thing-${i}`);

let root: string;
let model: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'classify', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MATSEARCH_CACHE_DIR: join(root, 'cache') },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The reference's answer for an image file, decoded as a query is. */
async function oracle(file: string, fraction: number, k: number) {
  const input = await decodeInput(
    readFileSync(file),
    // Decoded the way the imported model asks (its config.json records the official crop).
    queryDecodeOptions({
      inputSize: FIXTURE_REF.imageSize,
      inputChannels: FIXTURE_REF.inChans,
      preprocess: readModelDir(model).preprocess,
    }),
  );
  return refTopClasses(fixtureWeights(), input, fraction, k);
}

before(async () => {
  await setup();
  root = mkdtempSync(join(tmpdir(), 'classify-cli-'));
  model = (await importCheckpoint({ src: HUB_FIXTURE, out: join(root, 'model'), name: 'fixture' }))
    .outDir;
});

after(() => rmSync(root, { recursive: true, force: true }));

for (const [width, fraction] of [
  ['1', 1],
  ['1/2', 0.5],
] as const) {
  test(`--json gives the reference's top classes and probabilities at width ${width}`, async () => {
    const r = run([...IMAGES, '--model', model, '--width', width, '--top', '3', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    for (const [i, file] of IMAGES.entries()) {
      const got = lines[i] as {
        image: string;
        width: string;
        model_id: string;
        classes: { index: number; label: string | null; probability: number }[];
      };
      assert.equal(got.image, file);
      assert.equal(got.width, width);
      assert.match(got.model_id, /^fixture@[0-9a-f]{12}$/);
      const want = await oracle(file, fraction, 3);
      assert.deepEqual(
        got.classes.map((c) => c.index),
        want.map((c) => c.index),
      );
      for (const [j, c] of got.classes.entries()) {
        assert.ok(Math.abs(c.probability - want[j]!.probability) <= 1e-4, `${file} class ${j}`);
        assert.equal(c.label, null, '10 classes and no labels: indices only');
      }
    }
  });
}

test('the text output names the classes from the config labels, most probable first', async () => {
  const labelled = join(root, 'labelled');
  const m = (await importCheckpoint({ src: HUB_FIXTURE, out: labelled, name: 'labelled' })).outDir;
  const cfgPath = join(m, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(cfgPath, JSON.stringify({ ...cfg, labels: NAMES }));
  const r = run([IMAGES[0]!, '--model', m, '--top', '2']);
  assert.equal(r.status, 0, r.stderr);
  const want = await oracle(IMAGES[0]!, 1, 2);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /animals-giraffe\.jpg: width 1, labelled@/);
  assert.equal(lines.length, 3);
  for (const [j, c] of want.entries()) {
    const pct = (100 * c.probability).toFixed(2);
    assert.equal(lines[j + 1]!.trim(), `${pct}%  ${NAMES[c.index]}  [${c.index}]`);
  }
  // Without labels the classes are indices.
  const plain = run([IMAGES[0]!, '--model', model, '--top', '1']);
  assert.equal(
    plain.stdout.trim().split('\n')[1]!.trim().split('  ')[1],
    `class ${want[0]!.index}`,
  );
});

test('a model without a head is refused with a clear message (exit 2)', () => {
  const headless = saveTestModel(join(root, 'headless'));
  const r = run([IMAGES[0]!, '--model', headless]);
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /has no classification head/);
  assert.match(r.stderr, /classify needs a model with one/);
});

test('bad arguments exit 2: no image, a missing file, --top 0, an unknown width', () => {
  for (const args of [
    ['--model', model],
    [join(root, 'nope.jpg'), '--model', model],
    [IMAGES[0]!, '--model', model, '--top', '0'],
    [IMAGES[0]!, '--model', model, '--width', '1/3x9'],
  ]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^matsearch classify: /);
  }
});

test('labels: config labels or id2label, else ImageNet-1k for 1000 classes, else none', () => {
  // Facts of ImageNet-1k's class order (torchvision, timm and the official evaluation agree).
  assert.equal(IMAGENET_LABELS.length, 1000);
  assert.equal(IMAGENET_LABELS[0], 'tench');
  assert.equal(IMAGENET_LABELS[207], 'golden retriever');
  assert.equal(IMAGENET_LABELS[281], 'tabby');
  assert.equal(IMAGENET_LABELS[999], 'toilet tissue');
  assert.equal(new Set(IMAGENET_LABELS).size, 1000);
  assert.equal(classLabels({ model: {} }, 1000), IMAGENET_LABELS);
  assert.equal(classLabels({}, 10), null);
  assert.equal(classLabels({}, 0), null);
  assert.deepEqual(classLabels({ labels: ['a', 'b'] }, 2), ['a', 'b']);
  assert.deepEqual(classLabels({ id2label: { 1: 'b', 0: 'a' } }, 2), ['a', 'b']);
  assert.throws(() => classLabels({ labels: ['a'] }, 2), /labels must be a list of 2 names/);
  assert.throws(() => classLabels({ id2label: { 0: 'a', 2: 'c' } }, 2), /id2label must name/);
});

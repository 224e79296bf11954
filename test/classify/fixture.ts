/**
 * The PyTorch-made checkpoint of test/fixtures/torch (hub layout, 10 classes) for the classify
 * and pull tests, and its oracle: the tensors numpy wrote (expected-f32.raw, in
 * expected-index.json's order) run through the float64 reference forward (test/reference).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { refForward, sliceForWidths, type RefConfig } from '../reference/matmamba-ref.js';

export const TORCH_FIXTURES = fileURLToPath(
  new URL('../../../test/fixtures/torch/', import.meta.url),
);
/** The hub-layout folder: config.json + pytorch_model.bin. */
export const HUB_FIXTURE = join(TORCH_FIXTURES, 'hub');

/** test/fixtures/torch/hub/config.json, restated: d_model 32, 2 layers, headdim 32/32. */
export const FIXTURE_REF: RefConfig = {
  dModel: 32,
  nLayer: 2,
  dState: 16,
  dConv: 4,
  headDim: 1,
  patchSize: 8,
  imageSize: 32,
  inChans: 3,
  nClasses: 10,
  normEps: 1e-5,
  expand: 2,
};

/** Python's tensors: name -> float32 values. */
export function fixtureWeights(): Map<string, Float32Array> {
  return fixtureTensors('expected-f32.raw');
}

/** A raw file of test/fixtures/torch (float32 values in expected-index.json's order), by name. */
export function fixtureTensors(file: string): Map<string, Float32Array> {
  const index = JSON.parse(readFileSync(join(TORCH_FIXTURES, 'expected-index.json'), 'utf8')) as [
    string,
    number[],
  ][];
  const raw = readFileSync(join(TORCH_FIXTURES, file));
  const out = new Map<string, Float32Array>();
  let off = 0;
  for (const [name, shape] of index) {
    const n = shape.reduce((a, b) => a * b, 1);
    out.set(
      name,
      new Float32Array(raw.buffer.slice(raw.byteOffset + off, raw.byteOffset + off + n * 4)),
    );
    off += n * 4;
  }
  if (off !== raw.length) throw new Error(`expected-index.json does not match ${file}`);
  return out;
}

/**
 * The reference's top `k` classes of one preprocessed image at a uniform width (a fraction of
 * d_model): softmax in float64 over the reference logits, most probable first.
 */
export function refTopClasses(
  weights: Map<string, Float32Array>,
  input: ArrayLike<number>,
  fraction: number,
  k: number,
): { index: number; probability: number }[] {
  const d = FIXTURE_REF.dModel * fraction;
  const sliced = sliceForWidths(FIXTURE_REF, weights, Array(FIXTURE_REF.nLayer).fill(d));
  const logits = refForward(FIXTURE_REF, sliced, input).logits!;
  const max = Math.max(...logits);
  const e = Array.from(logits, (l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e
    .map((v, index) => ({ index, probability: v / sum }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpolatePosEmbed, resizeGrid } from '../../src/runtime/pos-embed.js';

test('resizeGrid matches PyTorch bilinear (align_corners=False) on a 2x2 -> 4x4 grid', () => {
  // F.interpolate(tensor([[0., 1.], [2., 3.]])[None, None], size=4, mode='bilinear')
  const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
  const out = resizeGrid(Float32Array.from([0, 1, 2, 3]), 2, 4, 1);
  assert.deepEqual([...out], expected);
});

test('resizeGrid keeps vectors, constants and the identity', () => {
  const D = 3;
  const grid = Float32Array.from({ length: 9 * D }, (_, i) => i);
  assert.deepEqual(resizeGrid(grid, 3, 3, D), grid);
  const flat = new Float32Array(4 * D).fill(0.5);
  for (const v of resizeGrid(flat, 2, 7, D)) assert.ok(Math.abs(v - 0.5) < 1e-7);
  // channels are resized independently: channel k of the output is the resize of channel k
  const ch1 = resizeGrid(
    Float32Array.from({ length: 9 }, (_, i) => grid[i * D + 1]!),
    3,
    5,
    1,
  );
  const all = resizeGrid(grid, 3, 5, D);
  for (let i = 0; i < 25; i++) assert.equal(all[i * D + 1], ch1[i]);
  assert.throws(() => resizeGrid(grid, 2, 4, D), { code: 'E_VALIDATION' });
});

test('interpolatePosEmbed keeps the CLS row where the model puts it', () => {
  const D = 2;
  const pos = Float32Array.from({ length: (4 + 1) * D }, (_, i) => i + 1);
  const suffix = interpolatePosEmbed(pos, D, 2, 3, 'suffix');
  assert.equal(suffix.length, (9 + 1) * D);
  assert.deepEqual([...suffix.subarray(9 * D)], [9, 10]); // last row of the 2x2 table
  assert.deepEqual([...suffix.subarray(0, D)], [1, 2]); // a corner stays a corner
  const prefix = interpolatePosEmbed(pos, D, 2, 3, 'prefix');
  assert.deepEqual([...prefix.subarray(0, D)], [1, 2]);
  assert.deepEqual([...prefix.subarray(D, 2 * D)], [3, 4]);
  assert.throws(() => interpolatePosEmbed(pos, D, 3, 4, 'suffix'), { code: 'E_VALIDATION' });
});

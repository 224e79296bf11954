import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig } from '../../src/model/config.js';
import { resolveWidths, widthLabel, widthToDim } from '../../src/model/nesting.js';

const cfg35 = presetConfig('35M'); // d_model 512, headDim 16, 20 layers

test("standard and Mix'n'Match widths resolve to whole heads", () => {
  assert.equal(widthToDim(cfg35, 1), 512);
  assert.equal(widthToDim(cfg35, '1/2'), 256);
  assert.equal(widthToDim(cfg35, 0.25), 128);
  assert.equal(widthToDim(cfg35, '1/8'), 64);
  assert.equal(widthToDim(cfg35, '3/8'), 192);
  assert.equal(widthToDim(cfg35, '0.375'), 192);
  assert.deepEqual(resolveWidths(cfg35, '1/4'), Array(20).fill(128));
  assert.deepEqual(resolveWidths(cfg35, '1/8x10,1/4x10'), [
    ...Array(10).fill(64),
    ...Array(10).fill(128),
  ]);
  assert.equal(resolveWidths(cfg35, [...Array(19).fill('1'), '1/2']).length, 20);
});

test('widths that do not give whole heads or whole channels are refused with the rule', () => {
  // 512/64 = 8 -> inner 16 -> 1 head of 16: fine. 1/128 -> 4 dims -> inner 8: half a head.
  assert.throws(() => widthToDim(cfg35, '1/128'), {
    code: 'E_VALIDATION',
    message: /not a whole number of heads.*multiples of 8\/512/,
  });
  assert.throws(() => widthToDim(cfg35, '1/3'), {
    code: 'E_VALIDATION',
    message: /whole number of channels/,
  });
  assert.throws(() => widthToDim(cfg35, 2), { code: 'E_VALIDATION', message: /between 1 and 512/ });
  assert.throws(() => widthToDim(cfg35, 0), { code: 'E_VALIDATION' });
  assert.throws(() => widthToDim(cfg35, 'half'), {
    code: 'E_VALIDATION',
    message: /cannot read width 'half'/,
  });
  assert.throws(() => resolveWidths(cfg35, '1,1/2'), {
    code: 'E_VALIDATION',
    message: /2 per-layer widths for a model of 20 layers/,
  });
});

test('width labels are canonical', () => {
  assert.equal(widthLabel(cfg35, resolveWidths(cfg35, 0.5)), '1/2');
  assert.equal(widthLabel(cfg35, resolveWidths(cfg35, 1)), '1');
  assert.equal(widthLabel(cfg35, resolveWidths(cfg35, '1/8x10,0.25x10')), '1/8x10,1/4x10');
  assert.equal(widthLabel(cfg35, resolveWidths(cfg35, '3/8')), '3/8');
});

/**
 * config.json's `preprocess` field: the official evaluation's spec reads back as written, absent
 * means our default, and each malformed field is refused by name (the hand-written checks that
 * keep a one-off search from loading a schema library).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PREPROCESS,
  OFFICIAL_EVAL_PREPROCESS,
  parsePreprocess,
} from '../../src/model/preprocess-spec.js';

test('the official spec round-trips through JSON; absent is the default', () => {
  const json: unknown = JSON.parse(JSON.stringify(OFFICIAL_EVAL_PREPROCESS));
  assert.deepEqual(parsePreprocess(json), OFFICIAL_EVAL_PREPROCESS);
  assert.equal(parsePreprocess(undefined), DEFAULT_PREPROCESS);
});

test('each malformed field is refused by name', () => {
  const ok = JSON.parse(JSON.stringify(OFFICIAL_EVAL_PREPROCESS)) as Record<string, unknown>;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...ok, mode: 'stretch' }, /mode: expected/],
    [{ ...ok, cropRatio: 0 }, /cropRatio: expected a number in \(0, 1\]/],
    [{ ...ok, cropRatio: 1.5 }, /cropRatio/],
    [{ ...ok, interpolation: 'cubic' }, /interpolation: expected/],
    [{ ...ok, mean: [0.5, 0.5] }, /mean: expected 3 numbers/],
    [{ ...ok, std: [0.2, 0, 0.2] }, /std values must be > 0/],
    [{ ...ok, extra: 1 }, /extra: unknown field/],
    [{ ...ok, interpolation: 'default' }, /crop-resize goes with interpolation area/],
  ];
  for (const [json, re] of cases)
    assert.throws(() => parsePreprocess(json), re, JSON.stringify(json));
  assert.throws(() => parsePreprocess([1, 2]), /expected an object/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetConfig, type MatMambaVisionConfig } from '../../src/model/config.js';
import { modelCost } from '../../src/model/cost.js';
import { resolveWidths } from '../../src/model/nesting.js';
import { widthsForBudget, type MixChoice } from '../../src/runtime/mix-n-match.js';
import { smallConfig } from '../helpers.js';

const CONFIGS: [string, MatMambaVisionConfig][] = [
  ['tiny', presetConfig('tiny')],
  ['35M', presetConfig('35M')],
  ['small', smallConfig()],
];
const STANDARD = ['1/8', '1/4', '1/2', '1'] as const;

const macs = (cfg: MatMambaVisionConfig, w: string | readonly string[]) => modelCost(cfg, w).macs;

/** Budgets from the 1/8 model's cost to 20% past the full model's, plus every standard cost. */
function budgets(cfg: MatMambaVisionConfig): number[] {
  const lo = macs(cfg, '1/8');
  const hi = macs(cfg, '1') * 1.2;
  const sweep = Array.from({ length: 400 }, (_, i) => Math.round(lo + ((hi - lo) * i) / 399));
  return [...sweep, ...STANDARD.map((w) => macs(cfg, w))].sort((a, b) => a - b);
}

/** Narrow first, one change at most, between neighbouring standard granularities. */
function assertShape(cfg: MatMambaVisionConfig, c: MixChoice) {
  const dims = c.layerDims;
  const distinct = [...new Set(dims)];
  assert.ok(distinct.length <= 2, `${c.label}: more than two granularities`);
  for (let i = 1; i < dims.length; i++)
    assert.ok(dims[i]! >= dims[i - 1]!, `${c.label}: not narrow-first`);
  if (distinct.length === 2)
    assert.equal(distinct[1], 2 * distinct[0]!, `${c.label}: not neighbours`);
  for (const d of distinct) {
    assert.ok(
      STANDARD.some((w) => resolveWidths(cfg, w)[0] === d),
      `${c.label}: non-standard width`,
    );
  }
}

for (const [name, cfg] of CONFIGS) {
  test(`widthsForBudget (${name}): within budget, maximal, monotone, narrow layers first`, () => {
    let prev: MixChoice | null = null;
    for (const b of budgets(cfg)) {
      const c = widthsForBudget(cfg, b);
      assert.equal(c.cost, macs(cfg, c.widths), 'reported cost is the MACs of the choice');
      assert.ok(c.cost <= b, `budget ${b}: cost ${c.cost} exceeds it`);
      assertShape(cfg, c);
      // maximal: widening the last of the narrowest layers one step would not fit
      if (c.label !== '1') {
        const i = c.layerDims.lastIndexOf(c.layerDims[0]!);
        const wider = [...c.widths];
        wider[i] = STANDARD[STANDARD.indexOf(c.widths[i] as (typeof STANDARD)[number]) + 1]!;
        assert.ok(macs(cfg, wider) > b, `budget ${b}: ${c.label} is not maximal`);
      }
      if (prev) {
        assert.ok(c.cost >= prev.cost, `budget ${b}: cost fell from ${prev.cost} to ${c.cost}`);
        c.layerDims.forEach((d, i) =>
          assert.ok(d >= prev!.layerDims[i]!, `budget ${b}: layer ${i} got narrower`),
        );
      }
      prev = c;
    }
  });

  test(`widthsForBudget (${name}): a standard model's cost returns exactly that model`, () => {
    for (const w of STANDARD) {
      const c = widthsForBudget(cfg, { macs: macs(cfg, w) });
      assert.equal(c.label, w);
      assert.equal(c.cost, macs(cfg, w));
    }
    assert.equal(widthsForBudget(cfg, 10 * macs(cfg, '1')).label, '1');
  });
}

test('widthsForBudget refuses a budget below the 1/8 model with a clear error', () => {
  const cfg = presetConfig('35M');
  const min = macs(cfg, '1/8');
  assert.throws(() => widthsForBudget(cfg, min - 1), {
    code: 'E_VALIDATION',
    message: /below the narrowest submodel \(width 1\/8: \d+ macs\)/,
  });
  assert.throws(() => widthsForBudget(cfg, Number.NaN), { code: 'E_VALIDATION' });
});

test('widthsForBudget picks the paper-style mix between two granularities', () => {
  const cfg = presetConfig('tiny'); // 6 layers
  const c = widthsForBudget(cfg, Math.floor((macs(cfg, '1/8') + macs(cfg, '1/4')) / 2));
  assert.equal(c.label, '1/8x3,1/4x3'); // per-layer cost is linear, so the midpoint is 3 + 3
  assert.deepEqual(c.widths, ['1/8', '1/8', '1/8', '1/4', '1/4', '1/4']);
});

test('widthsForBudget with a latency budget and a measured table', () => {
  const cfg = presetConfig('tiny');
  const table = { '1/8': 1, '1/4': 2, '1/2': 4, '1': 8 };
  assert.equal(widthsForBudget(cfg, { ms: 4, table }).label, '1/2');
  const c = widthsForBudget(cfg, { ms: 3, table }); // (k·2 + (6-k)·4)/6 <= 3 -> k = 3
  assert.equal(c.label, '1/4x3,1/2x3');
  assert.equal(c.unit, 'ms');
  assert.ok(c.cost <= 3);
  const odd = { '1/8': 1.1, '1/4': 1.7, '1/2': 3.3, '1': 0.1 + 0.2 + 6.3 };
  for (const w of STANDARD) assert.equal(widthsForBudget(cfg, { ms: odd[w], table: odd }).label, w);
  assert.throws(() => widthsForBudget(cfg, { ms: 0.5, table }), { code: 'E_VALIDATION' });
  assert.throws(() => widthsForBudget(cfg, { ms: 3, table: { ...table, '1/2': 1.5 } }), {
    code: 'E_VALIDATION',
    message: /must grow with width/,
  });
  assert.throws(() => widthsForBudget(cfg, { ms: 3, table: { '1/8': 1 } }), {
    code: 'E_VALIDATION',
  });
});

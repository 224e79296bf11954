import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartRow, lineChart, type Series } from '../../src/util/svg-plot.js';

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

test('log axes tick at 1, 2, 5 per decade; error bars, dashes and an inside legend', () => {
  const series: Series[] = [
    {
      name: 'a & b',
      points: [
        { x: 10, y: 100, lo: 80, hi: 130, label: '1/8' },
        { x: 1000, y: 3000 },
      ],
    },
    {
      name: 'ref',
      dashed: true,
      markers: false,
      points: [
        { x: 10, y: 50 },
        { x: 1000, y: 5000 },
      ],
    },
  ];
  const svg = lineChart(series, {
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    logX: true,
    logY: true,
    legend: 'inside',
  });
  const t = texts(svg);
  for (const v of ['10', '20', '50', '100', '1000', '5000']) assert.ok(t.includes(v), v);
  assert.ok(!t.includes('1.0e+3'));
  assert.ok(t.includes('a &amp; b') && t.includes('1/8'));
  assert.equal((svg.match(/<circle /g) ?? []).length, 2); // no markers on the dashed series
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 1);
  assert.ok(/<line x1="([\d.]+)" y1="[\d.]+" x2="\1" y2="[\d.]+" stroke="#1f77b4"\/>/.test(svg));
});

test('explicit x ticks, and charts side by side in one figure', () => {
  const s: Series[] = [{ name: 's', points: [224, 384, 1024].map((x) => ({ x, y: x / 2 })) }];
  const o = { title: 't', xLabel: 'x', yLabel: 'y', logX: true, xTicks: [224, 384, 1024] };
  const t = texts(lineChart(s, o));
  for (const v of ['224', '384', '1024']) assert.ok(t.includes(v), v);
  assert.ok(!t.includes('1000')); // no automatic x ticks
  const row = chartRow([
    { series: s, options: { ...o, width: 300 } },
    { series: s, options: { ...o, height: 500 } },
  ]);
  assert.match(row, /^<svg [^>]*width="780" height="500"/);
  assert.equal((row.match(/<g transform="translate\((0|300) 0\)">/g) ?? []).length, 2);
  assert.equal((row.match(/<svg /g) ?? []).length, 1);
});

/**
 * A small SVG line/scatter chart with our own code (no plotting dependency): numeric axes
 * (linear or log on either), a legend (beside the plot or inside it), labelled points, min-max
 * error bars and dashed reference lines; `chartRow` puts several charts side by side in one
 * figure. Enough for the accuracy-vs-compute and latency figures in docs/.
 */
export interface Point {
  readonly x: number;
  readonly y: number;
  readonly label?: string;
  /** Error bar from `lo` to `hi` (both needed), e.g. the min and max of timed reps. */
  readonly lo?: number;
  readonly hi?: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  /** Draw lines between points (default) or only markers. */
  readonly line?: boolean;
  /** Draw a marker (and error bar) at each point (default true). */
  readonly markers?: boolean;
  /** Dashed line, e.g. a reference such as "time proportional to MACs". */
  readonly dashed?: boolean;
  /** CSS colour; by default the next one of the palette. */
  readonly color?: string;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Ticks to draw on x (e.g. the measured sizes) instead of automatic ones. */
  readonly xTicks?: readonly number[];
  /** 'right' (default): a column beside the plot; 'inside': the plot's top-left corner. */
  readonly legend?: 'right' | 'inside';
  readonly width?: number;
  readonly height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step)
    out.push(+v.toPrecision(12));
  return out;
}

/** 1, 2, 5 times each power of ten in [10^lo, 10^hi]; linear ticks when that gives under two. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++)
    for (const m of [1, 2, 5]) {
      const v = +(m * 10 ** e).toPrecision(12);
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) out.push(v);
    }
  return out.length >= 2 ? out : niceTicks(10 ** lo, 10 ** hi).filter((v) => v > 0);
}

const fmt = (v: number) => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 0.01 && v !== 0) return v.toExponential(1);
  return String(+v.toPrecision(4));
};

/** One axis: data values to pixels between p0 and p1, padded by `pad` of the span. */
function axis(values: readonly number[], log: boolean, pad: number, p0: number, p1: number) {
  const t = (v: number) => (log ? Math.log10(v) : v);
  let [lo, hi] = [Math.min(...values.map(t)), Math.max(...values.map(t))];
  const d = (hi - lo || 1) * pad;
  [lo, hi] = [lo - d, hi + d];
  return {
    at: (v: number) => +(p0 + ((t(v) - lo) / (hi - lo)) * (p1 - p0)).toFixed(1),
    ticks: () => (log ? logTicks(lo, hi) : niceTicks(lo, hi)),
    inside: (v: number) => t(v) >= lo && t(v) <= hi,
  };
}

/** The chart's elements in a W x H box with its origin at the top left. */
function chartBody(series: readonly Series[], o: ChartOptions, W: number, H: number): string[] {
  const inside = o.legend === 'inside';
  const m = { l: 70, r: inside ? 15 : 170, t: 40, b: 55 };
  const all = series.flatMap((s) => s.points);
  const X = axis(
    all.map((p) => p.x),
    o.logX === true,
    0.05,
    m.l,
    W - m.r,
  );
  const Y = axis(
    all.flatMap((p) => [p.lo ?? p.y, p.hi ?? p.y]),
    o.logY === true,
    0.08,
    H - m.b,
    m.t,
  );
  const parts: string[] = [
    `<text x="${(m.l + W - m.r) / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  for (const v of o.xTicks?.filter(X.inside) ?? X.ticks()) {
    const x = X.at(v);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  for (const v of Y.ticks()) {
    const y = Y.at(v);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const c = s.color ?? COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (s.line !== false && pts.length > 1) {
      const dash = s.dashed ? ' stroke-dasharray="6,4"' : '';
      parts.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${pts.map((p) => `${X.at(p.x)},${Y.at(p.y)}`).join(' ')}"/>`,
      );
    }
    for (const p of s.markers === false ? [] : pts) {
      const [x, y] = [X.at(p.x), Y.at(p.y)];
      if (p.lo !== undefined && p.hi !== undefined)
        parts.push(
          `<line x1="${x}" y1="${Y.at(p.lo)}" x2="${x}" y2="${Y.at(p.hi)}" stroke="${c}"/>`,
        );
      parts.push(`<circle cx="${x}" cy="${y}" r="4" fill="${c}"/>`);
      if (p.label)
        parts.push(
          `<text x="${(x + 6).toFixed(1)}" y="${(y - 6).toFixed(1)}" font-size="10" fill="${c}">${esc(p.label)}</text>`,
        );
    }
    const [lx, ly] = inside ? [m.l + 10, m.t + 16 + i * 18] : [W - m.r + 12, m.t + 10 + i * 20];
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${c}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  return parts;
}

function svg(W: number, H: number, body: readonly string[]): string {
  return (
    [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
      `<rect width="${W}" height="${H}" fill="white"/>`,
      ...body,
      '</svg>',
    ].join('\n') + '\n'
  );
}

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 440;
  return svg(W, H, chartBody(series, o, W, H));
}

/** Several charts side by side in one figure, each at its own width (default 480 x 400). */
export function chartRow(
  charts: readonly { readonly series: readonly Series[]; readonly options: ChartOptions }[],
): string {
  const body: string[] = [];
  let x = 0;
  let H = 0;
  for (const { series, options } of charts) {
    const w = options.width ?? 480;
    const h = options.height ?? 400;
    body.push(`<g transform="translate(${x} 0)">`, ...chartBody(series, options, w, h), '</g>');
    x += w;
    H = Math.max(H, h);
  }
  return svg(x, H, body);
}

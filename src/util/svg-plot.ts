/**
 * A small SVG line/scatter chart with our own code (no plotting dependency): numeric axes
 * (optionally log-x), a legend, and labelled points. Enough for accuracy-vs-compute and
 * latency-vs-size figures in docs/.
 */
export interface Series {
  readonly name: string;
  readonly points: readonly { x: number; y: number; label?: string }[];
  /** Draw lines between points (default) or only markers. */
  readonly line?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
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

const fmt = (v: number) =>
  Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(1)
    : String(+v.toPrecision(4));

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 440;
  const m = { l: 70, r: 170, t: 40, b: 55 };
  const all = series.flatMap((s) => s.points);
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  let [x0, x1] = [Math.min(...all.map((p) => tx(p.x))), Math.max(...all.map((p) => tx(p.x)))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  const px = (x1 - x0 || 1) * 0.05;
  const py = (y1 - y0 || 1) * 0.08;
  [x0, x1, y0, y1] = [x0 - px, x1 + px, y0 - py, y1 + py];
  const sx = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  const xTicks = o.logX ? niceTicks(x0, x1).map((v) => 10 ** v) : niceTicks(x0, x1);
  for (const v of xTicks) {
    const X = sx(v);
    parts.push(`<line x1="${X}" y1="${m.t}" x2="${X}" y2="${H - m.b}" stroke="#eee"/>`);
    parts.push(`<text x="${X}" y="${H - m.b + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  for (const v of niceTicks(y0, y1)) {
    const Y = sy(v);
    parts.push(`<line x1="${m.l}" y1="${Y}" x2="${W - m.r}" y2="${Y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 6}" y="${Y + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (s.line !== false && pts.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    for (const p of pts) {
      parts.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4" fill="${c}"/>`,
      );
      if (p.label)
        parts.push(
          `<text x="${(sx(p.x) + 6).toFixed(1)}" y="${(sy(p.y) - 6).toFixed(1)}" font-size="10" fill="${c}">${esc(p.label)}</text>`,
        );
    }
    const ly = m.t + 10 + i * 20;
    parts.push(`<rect x="${W - m.r + 12}" y="${ly - 8}" width="12" height="12" fill="${c}"/>`);
    parts.push(`<text x="${W - m.r + 30}" y="${ly + 2}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

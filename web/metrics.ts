/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written here rather than
 * pulled from a client library: counters and histograms kept in maps keyed by their label
 * values, and gauges read from the library and the queues at scrape time.
 *
 *   matsearch_http_requests_total{method, route, status}          counter
 *   matsearch_http_request_duration_seconds{method, route}        histogram
 *   matsearch_search_duration_seconds{width, stage}               histogram (encode, refine_encode, coarse, rerank, total)
 *   plus the gauges the app collects (index size, ingest progress, queue depth).
 */
import type { RequestHandler } from 'express';

type Labels = Record<string, string>;

/** Latency buckets in seconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/** More distinct width labels than this (Mix'n'Match specs are open-ended) are counted as "other". */
const MAX_WIDTH_LABELS = 32;

const escapeLabel = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelText(l: Labels, extra?: [string, string]): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

const num = (v: number) =>
  Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';

class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = labelText(labels);
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { labels, value: by });
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const s of this.series.values())
      out.push(`${this.name}${labelText(s.labels)} ${num(s.value)}`);
    return out;
  }
}

class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) =>
        out.push(`${this.name}_bucket${labelText(s.labels, ['le', num(b)])} ${s.counts[i]}`),
      );
      out.push(`${this.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** A value read at scrape time. */
export interface Gauge {
  readonly name: string;
  readonly help: string;
  /** 'counter' for a total kept elsewhere and read at scrape time. */
  readonly type?: 'gauge' | 'counter';
  readonly samples: readonly { labels?: Labels; value: number }[];
}

export class Metrics {
  readonly requests = new Counter(
    'matsearch_http_requests_total',
    'HTTP requests by method, route and status.',
  );
  readonly requestSeconds = new Histogram(
    'matsearch_http_request_duration_seconds',
    'HTTP request latency by method and route, in seconds.',
  );
  readonly searchSeconds = new Histogram(
    'matsearch_search_duration_seconds',
    'Search latency by query width and stage (encode, refine_encode, coarse, rerank, total), in seconds.',
  );
  private readonly widths = new Set<string>();

  /** Records one search's stage timings (ms) under its query width. */
  observeSearch(width: string, timingsMs: Record<string, number>): void {
    if (!this.widths.has(width) && this.widths.size >= MAX_WIDTH_LABELS) width = 'other';
    this.widths.add(width);
    for (const [stage, ms] of Object.entries(timingsMs))
      this.searchSeconds.observe({ width, stage }, ms / 1000);
  }

  /** Counts and times every request under its route pattern (`/api/images/:id`, not the URL). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const t0 = performance.now();
      res.locals['t0'] = t0;
      res.once('close', () => {
        const route = req.route
          ? `${req.baseUrl}${String(req.route.path)}`
          : ((res.locals['route'] as string | undefined) ?? 'unmatched');
        const labels = { method: req.method, route };
        this.requests.inc({ ...labels, status: String(res.statusCode) });
        this.requestSeconds.observe(labels, (performance.now() - t0) / 1000);
      });
      next();
    };
  }

  render(gauges: readonly Gauge[] = []): string {
    const lines = [
      ...this.requests.render(),
      ...this.requestSeconds.render(),
      ...this.searchSeconds.render(),
    ];
    for (const g of gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type ?? 'gauge'}`);
      for (const s of g.samples)
        lines.push(`${g.name}${labelText(s.labels ?? {})} ${num(s.value)}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** The Markdown of the load benchmark (bench/load.ts): one table per phase, from the measures. */
import { mdTable } from './util.js';

export interface Latency {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LevelResult {
  readonly clients: number;
  readonly seconds: number;
  readonly requests: number;
  readonly ok: number;
  /** Successful searches per second. */
  readonly rps: number;
  readonly all: Latency;
  readonly byId: Latency;
  readonly byUpload: Latency;
  /** Refused with 503 + Retry-After (the documented queue bound). */
  readonly busy503: number;
  /** Anything else that was not a 200, by status ('network error' for none). */
  readonly failed: Record<string, number>;
  /** Share of the level during which the background ingest ran. */
  readonly ingestOverlap: number;
  readonly ingested: number;
}

export interface SoakResult {
  readonly seconds: number;
  readonly clients: number;
  readonly ok: number;
  readonly busy503: number;
  readonly failed: Record<string, number>;
  readonly all: Latency;
  readonly ingestCycles: number;
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  readonly rssMaxMb: number;
  /** Least-squares slope of RSS over the soak. */
  readonly rssTrendMbPerMin: number;
  readonly rss: { s: number; mb: number }[];
}

export interface LoadReport {
  readonly machine: { cpu: string; cores: number; node: string; date: string };
  readonly loadAverageAtStart: number[];
  readonly note: string | null;
  readonly model: string;
  readonly server: string;
  readonly libraryImagesAtStart: number;
  readonly ingestImagesPerLevel: number;
  readonly levels: LevelResult[];
  readonly soak: SoakResult | null;
  /** Requests sent again once because the server closed their keep-alive socket meanwhile. */
  readonly staleSocketRetries: number;
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const failures = (f: Record<string, number>) =>
  Object.keys(f).length
    ? Object.entries(f)
        .map(([k, n]) => `${n} × ${k}`)
        .join(', ')
    : '0';

export function loadReport(r: LoadReport): string {
  const m = r.machine;
  const out = [
    '# The server under load',
    '',
    `\`npm run bench -- load\`: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}; load average ` +
      `${r.loadAverageAtStart.join(' / ')} at the start.` +
      (r.note ? ` ${r.note}` : ''),
    '',
    `${r.server}; model \`${r.model.split('/').slice(-2).join('/')}\`; ${r.libraryImagesAtStart} images ` +
      `at the start. Clients are our own (node:http, keep-alive, loopback), each searching as fast ` +
      `as it can, half by id (JSON, k 10) and half by upload (multipart, widths 1, 1/4, 1/8 in ` +
      `turn). During each level a background ingest of ${r.ingestImagesPerLevel} new images runs ` +
      `(POST /api/ingest); "ingest ran" is the share of the level it was running. Latency is the ` +
      `client's round trip for successful searches. A 503 is the documented answer beyond ` +
      `--max-queue (the client then waits 100 ms); "failed" counts everything else that was not ` +
      `a 200, and should be 0. (A search slot is freed when the server closes the response, a ` +
      `moment after the client has read it: a client that sends its next request at once can ` +
      `briefly hold two places, so 503s can appear just below --concurrency + --max-queue ` +
      `clients.) A request that went out on a keep-alive socket the server had ` +
      `just closed (idle timeout) is sent again once, as node's documentation advises a client ` +
      `to do: that happened ${r.staleSocketRetries} time(s) in the whole run.`,
    '',
    mdTable(
      [
        'clients',
        'searches',
        'per s',
        'p50 ms',
        'p99 ms',
        'by id p50 / p99',
        'by upload p50 / p99',
        '503',
        'failed',
        'ingest ran',
      ],
      r.levels.map((l) => [
        l.clients,
        l.ok,
        l.rps.toFixed(1),
        ms(l.all.p50),
        ms(l.all.p99),
        `${ms(l.byId.p50)} / ${ms(l.byId.p99)}`,
        `${ms(l.byUpload.p50)} / ${ms(l.byUpload.p99)}`,
        l.busy503,
        failures(l.failed),
        `${(100 * l.ingestOverlap).toFixed(0)}%`,
      ]),
    ),
  ];
  const s = r.soak;
  if (s) {
    out.push(
      `## Soak: ${s.seconds} s`,
      '',
      `${s.clients} clients as above, while ${s.ingestCycles} cycles of "ingest 300 new images, ` +
        `delete them, ingest with prune" keep the library's size steady. The server's RSS ` +
        `(/proc/PID/status) was sampled every 2 s; the trend is the least-squares slope.`,
      '',
      mdTable(
        [
          'searches',
          'p50 ms',
          'p99 ms',
          '503',
          'failed',
          'RSS start',
          'RSS end',
          'RSS max',
          'trend',
        ],
        [
          [
            s.ok,
            ms(s.all.p50),
            ms(s.all.p99),
            s.busy503,
            failures(s.failed),
            `${s.rssStartMb.toFixed(0)} MB`,
            `${s.rssEndMb.toFixed(0)} MB`,
            `${s.rssMaxMb.toFixed(0)} MB`,
            `${s.rssTrendMbPerMin >= 0 ? '+' : ''}${s.rssTrendMbPerMin.toFixed(2)} MB/min`,
          ],
        ],
      ),
    );
  }
  return out.join('\n') + '\n';
}

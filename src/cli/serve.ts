/**
 * `matsearch serve`: the REST API over a library, until Ctrl-C (or SIGTERM), then a graceful
 * stop: requests in flight finish, a background ingest saves its batch, the library closes.
 */
import { resolve } from 'node:path';
import type { Command } from './main.js';
import { Library } from '../library.js';
import { openEmbedder, resolveModelDir } from '../embed/open.js';
import { ValidationError } from '../errors.js';
import type { Precision } from '../runtime/quantize.js';
import { serveUntilSignal, startServer } from '../../web/server.js';
import { checkApiKey } from '../../web/auth.js';
import { openApiDocument } from '../../web/openapi.js';
import { intOption as int } from './options.js';

function positive(v: unknown, name: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new ValidationError(
      `--${name} must be a number above 0 and at most ${max}, got '${String(v)}'`,
    );
  return n;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const serveCommand: Command = {
  summary: 'serve the REST API over a library (binds 127.0.0.1 unless --host says otherwise)',
  usage:
    '[--library DIR] [--model DIR] [--precision fp32|int8] [--port 8080] [--host 127.0.0.1] [--api-key KEY] [--root DIR...] [--max-queue 32] [--concurrency 2] [--target-ms MS] [--refine-share 0.25] [--cors ORIGIN...] [--allowed-host NAME...] [--openapi]\n\n' +
    'Requests are served only under localhost, an IP address, the --host name or an --allowed-host\n' +
    'name (NAME, .DOMAIN for it and its subdomains, or * for any); other Host headers get 403\n' +
    '(DNS rebinding). Writes from a browser page of another origin than --cors allows get 403.\n' +
    'With --target-ms, a search that names no width (or width auto without budget_ms) gets the\n' +
    'widest width expected within that many ms, the search queue included: the width steps\n' +
    'down as the queue grows, before the server answers 503.\n' +
    'Images ingested at a narrow width are refined to full width while the server is idle, using\n' +
    'at most --refine-share of the time (0 turns it off); /api/stats shows the progress.',
  options: {
    library: { type: 'string', short: 'l' },
    model: { type: 'string', short: 'm' },
    precision: { type: 'string' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'api-key': { type: 'string' },
    root: { type: 'string', multiple: true },
    'max-queue': { type: 'string' },
    concurrency: { type: 'string' },
    'target-ms': { type: 'string' },
    'refine-share': { type: 'string' },
    cors: { type: 'string', multiple: true },
    'allowed-host': { type: 'string', multiple: true },
    openapi: { type: 'boolean', default: false },
  },
  async run(v) {
    if (v['openapi']) {
      console.log(JSON.stringify(openApiDocument(), null, 2));
      return;
    }
    const port = int(v['port'], 'port', 0, 65535) ?? 8080;
    const host = (v['host'] as string | undefined) ?? '127.0.0.1';
    const maxQueue = int(v['max-queue'], 'max-queue', 0, 100_000);
    const concurrency = int(v['concurrency'], 'concurrency', 1, 256);
    const targetMs = positive(v['target-ms'], 'target-ms', 60_000);
    const share =
      v['refine-share'] === '0' ? 0 : (positive(v['refine-share'], 'refine-share', 1) ?? 0.25);
    const flagKey = v['api-key'] as string | undefined;
    const envKey = process.env['MATSEARCH_API_KEY'];
    // Checked before anything loads: an empty key must not quietly mean "no key".
    const apiKey =
      flagKey !== undefined
        ? checkApiKey(flagKey, '--api-key')
        : envKey !== undefined
          ? checkApiKey(envKey, 'MATSEARCH_API_KEY')
          : undefined;
    const allowedHosts = (v['allowed-host'] as string[] | undefined) ?? [];
    const roots = ((v['root'] as string[] | undefined) ?? []).map((r) => resolve(r));
    const dir = resolve(
      (v['library'] as string | undefined) ??
        process.env['MATSEARCH_LIBRARY'] ??
        './matsearch-data',
    );
    const precision = v['precision'] as Precision | undefined;
    const embedder = await openEmbedder(
      resolveModelDir(v['model'] as string | undefined),
      undefined,
      precision ? { precision } : {},
    );
    try {
      const lib = Library.open(dir, {
        embedder,
        index: { thread: 'worker' }, // searches off the event loop
        log: (m) => console.error(m),
      });
      try {
        const srv = await startServer(lib, {
          host,
          port,
          roots,
          ...(apiKey ? { apiKey } : {}),
          ...(maxQueue !== undefined ? { maxQueue } : {}),
          ...(concurrency !== undefined ? { concurrency } : {}),
          ...(targetMs !== undefined ? { targetMs } : {}),
          ...(share > 0 ? { backgroundRefine: { share } } : {}),
          ...(v['cors'] ? { cors: v['cors'] as string[] } : {}),
          allowedHosts,
          log: (m) => console.error(m),
        });
        // Signals are handled before the line a supervisor waits for is printed.
        const stopped = serveUntilSignal(srv, (m) => console.error(`matsearch: ${m}`));
        console.log(
          `matsearch: serving ${dir} at ${srv.url} (API under /api, spec /api/openapi.json)`,
        );
        if (!LOOPBACK.has(host) && !apiKey)
          console.error(
            `matsearch: warning: listening on ${host} without --api-key; anyone who can reach it can upload, delete and ingest`,
          );
        await stopped;
      } finally {
        lib.close();
      }
    } finally {
      await embedder.close(); // also when the library failed to open or close: its threads stop
    }
  },
};

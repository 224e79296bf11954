/**
 * `matsearch serve` in its own process, for the fault tests and the load benchmark's peers: the
 * library with the given model (tfjs) and its index in a worker thread, as the real command
 * keeps it. One JSON argument (ServerChildOptions); prints {event:'listening', url} on stdout,
 * and on SIGTERM stops gracefully and prints {event:'closed'}.
 */
import type { ApiOptions } from '../../web/app.js';

export interface ServerChildOptions {
  readonly lib: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly roots?: string[];
  /** Wait this long before each embedding batch. */
  readonly embedDelayMs?: number;
  readonly limits?: ApiOptions['limits'];
  readonly maxQueue?: number;
}

const o = JSON.parse(process.argv[2]!) as ServerChildOptions;
const emit = (e: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ ...e, t: Date.now() }) + '\n');

const { setup } = await import('../helpers.js');
const { Library } = await import('../../src/library.js');
const { startServer, serveUntilSignal } = await import('../../web/server.js');
const { delayed, loadEmbedder } = await import('./helpers.js');

await setup();
const embedder = delayed(await loadEmbedder(o.model), o.embedDelayMs ?? 0);
const lib = Library.open(o.lib, {
  embedder,
  index: { thread: 'worker' },
  log: (m) => emit({ event: 'log', message: m }),
});
const srv = await startServer(lib, {
  port: 0,
  ...(o.apiKey ? { apiKey: o.apiKey } : {}),
  ...(o.roots ? { roots: o.roots } : {}),
  ...(o.limits ? { limits: o.limits } : {}),
  ...(o.maxQueue !== undefined ? { maxQueue: o.maxQueue } : {}),
  log: (m) => emit({ event: 'log', message: m }),
});
emit({ event: 'listening', url: srv.url, pid: process.pid });
await serveUntilSignal(srv, () => {});
lib.close();
await embedder.close();
emit({ event: 'closed' });

/**
 * Listening and stopping. `startServer` binds 127.0.0.1 unless told otherwise; `close` stops
 * taking connections, lets requests in flight finish (up to `graceMs`), stops background jobs,
 * then drops what is left. The library is the caller's to close afterwards.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Library } from '../src/library.js';
import { createApp, type ApiApp, type ApiOptions } from './app.js';

export interface ServerOptions extends ApiOptions {
  /** Interface to bind (default 127.0.0.1: this machine only). */
  readonly host?: string;
  /** Port (default 8080; 0 picks a free one). */
  readonly port?: number;
  readonly timeouts?: Partial<ServerTimeouts>;
}

/**
 * How long a client may take (a slow client must not hold a connection, nor a slot, for ever).
 * A request over `headersMs` or `requestMs` is answered 408 and its connection closed.
 */
export interface ServerTimeouts {
  /** To send the request line and headers (default 10 s). */
  readonly headersMs: number;
  /** To send the whole request, body included (default 120 s: 16 files of 25 MiB on a slow link). */
  readonly requestMs: number;
  /** A connection with no traffic either way for this long is closed (default 120 s). */
  readonly idleMs: number;
  /** A keep-alive connection waits this long for its next request (default 5 s). */
  readonly keepAliveMs: number;
  /** How often the two request timeouts are checked (default 1 s). */
  readonly checkEveryMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = {
  headersMs: 10_000,
  requestMs: 120_000,
  idleMs: 120_000,
  keepAliveMs: 5_000,
  checkEveryMs: 1_000,
};

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly api: ApiApp;
  readonly server: Server;
  close(graceMs?: number): Promise<void>;
}

export async function startServer(library: Library, o: ServerOptions = {}): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const api = createApp(library, { ...o, bindHost: host });
  const t = { ...SERVER_TIMEOUTS, ...o.timeouts };
  const server = createServer(
    {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      keepAliveTimeout: t.keepAliveMs,
      connectionsCheckingInterval: t.checkEveryMs,
    },
    api.app,
  );
  server.setTimeout(t.idleMs);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await api.close(); // frees the library for another server
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    api,
    server,
    close(graceMs = 5_000) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await api.close();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
        await Promise.race([closed, grace]);
        clearTimeout(timer);
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/**
 * Resolves once SIGINT or SIGTERM has stopped `srv` gracefully (requests in flight finish, jobs
 * save); for commands that serve until Ctrl-C.
 */
export function serveUntilSignal(
  srv: RunningServer,
  log: (msg: string) => void = (m) => process.stderr.write(`matsearch: ${m}\n`),
): Promise<void> {
  return new Promise<void>((done) => {
    const stop = (sig: string) => {
      log(`${sig}: stopping`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void srv.close().then(done);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

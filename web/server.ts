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
}

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
  const server = createServer(api.app);
  server.keepAliveTimeout = 5_000;
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

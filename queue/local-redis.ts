/**
 * A throwaway redis-server for tests and benchmarks: bound to 127.0.0.1 on a free port, nothing
 * persisted (`--save '' --appendonly no`), its working files in `dir`. Debian's `redis-server`
 * package provides the binary; without it this fails with the command that installs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { QueueError } from '../src/errors.js';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and waits for it to exit; idempotent. */
  stop(): Promise<void>;
}

export const REDIS_INSTALL_HINT =
  'redis-server is not installed: run `apt-get install -y redis-server` (.ci/run does this)';

/** A port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function launch(bin: string, port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(bin, [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/ready to accept connections/i.test(out)) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining its log
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new QueueError(REDIS_INSTALL_HINT) : err),
    );
    child.once('exit', (code) =>
      reject(new QueueError(`redis-server exited (${code}) before it was ready:\n${out.trim()}`)),
    );
  });
}

/** Starts a redis-server; a port taken between the check and the start is retried. */
export async function startLocalRedis(dir: string, bin = 'redis-server'): Promise<LocalRedis> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await launch(bin, port, dir);
    } catch (err) {
      if ((err as Error).message === REDIS_INSTALL_HINT) throw err;
      lastErr = err;
      continue;
    }
    // Not left behind when this process exits without calling stop().
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    void new Promise((r) => child.once('exit', r)).then(() => process.off('exit', reap));
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => child.once('exit', () => r()));
    let stopping: Promise<void> | null = null;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: () =>
        (stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        })()),
    };
  }
  throw lastErr;
}

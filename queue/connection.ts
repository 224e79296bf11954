/**
 * Where the queue is: a Redis URL and a queue name, and BullMQ itself, loaded on first use.
 * Nothing in queue/ imports bullmq (or ioredis) at load time, so an ingest without `--queue`
 * never loads either: Redis stays optional for the embedded default.
 */
import { QueueError, ValidationError } from '../src/errors.js';

export type BullMQ = typeof import('bullmq');

/** The queue every command uses unless told otherwise: one queue per library. */
export const DEFAULT_QUEUE_NAME = 'matsearch';

export interface QueueAddress {
  /** redis://[user:password@]host[:port][/db] or rediss:// (TLS). */
  readonly url: string;
  /** BullMQ queue name (default 'matsearch'); give each library its own. */
  readonly name?: string;
}

let bullmq: Promise<BullMQ> | undefined;

/** BullMQ, imported on the first call only. */
export function loadBullmq(): Promise<BullMQ> {
  bullmq ??= import('bullmq').catch((err: unknown) => {
    bullmq = undefined;
    throw new QueueError(`cannot load bullmq (npm install bullmq ioredis): ${String(err)}`, {
      cause: err,
    });
  });
  return bullmq;
}

/** Checks a queue address; returns the queue name and BullMQ connection options. */
export function resolveAddress(a: QueueAddress): { name: string; connection: { url: string } } {
  let u: URL;
  try {
    u = new URL(a.url);
  } catch {
    throw new ValidationError(`--queue must be a redis:// URL, got '${a.url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ValidationError(
      `--queue must be a redis:// or rediss:// URL, got '${safeUrl(a.url)}'`,
    );
  const name = a.name ?? DEFAULT_QUEUE_NAME;
  if (!/^[\w.-]+$/.test(name))
    throw new ValidationError(`a queue name is letters, digits, '.', '-' and '_'; got '${name}'`);
  return { name, connection: { url: a.url } };
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Waits until a BullMQ client is connected; a clear error (not a hang) when Redis is not there. */
export async function whenReady(
  client: { waitUntilReady(): Promise<unknown> },
  url: string,
  timeoutMs = 10_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new QueueError(`cannot reach Redis at ${safeUrl(url)} (${timeoutMs} ms)`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([client.waitUntilReady(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An 'error' listener that logs each distinct message once (a Redis outage repeats them). */
export function logErrorsOnce(log: (msg: string) => void, what: string): (err: Error) => void {
  const seen = new Set<string>();
  return (err) => {
    if (seen.has(err.message) || seen.size > 20) return;
    seen.add(err.message);
    log(`${what}: ${err.message}`);
  };
}

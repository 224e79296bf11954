/**
 * A bounded concurrency gate: at most `concurrency` holders at once, at most `maxQueue` waiting,
 * and anyone beyond that is refused at once with a BusyError (503 + Retry-After) rather than
 * piling up. A request's body is read before it takes a slot (web/routes/), so a slow client
 * holds its own connection, bounded by the server's request timeout, and never a slot.
 */
import type { RequestHandler } from 'express';
import { BusyError } from './errors.js';

export interface GateStats {
  readonly name: string;
  readonly concurrency: number;
  readonly maxQueue: number;
  readonly active: number;
  readonly waiting: number;
  readonly rejected: number;
}

export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private rejected = 0;
  /** Moving average of how long a slot is held (ms), for Retry-After. */
  private holdMs = 200;

  constructor(
    readonly name: string,
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`${name} concurrency must be a positive integer, got ${concurrency}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0)
      throw new RangeError(`${name} queue bound must be a whole number, got ${maxQueue}`);
  }

  /** Seconds a refused client should wait: the queue ahead of it at the recent pace. */
  retryAfterS(): number {
    const ms = (this.holdMs * (this.waiting.length + 1)) / this.concurrency;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Takes a slot (waiting if needed) and returns its release; throws BusyError if full. */
  async acquire(): Promise<() => void> {
    if (this.active < this.concurrency) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueue) {
      this.rejected++;
      throw new BusyError(
        `the server is busy (${this.active} ${this.name} running, ${this.waiting.length} waiting); retry in ${this.retryAfterS()} s`,
        this.retryAfterS(),
      );
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.releaser(); // the slot was handed over by a release: `active` is unchanged
  }

  private releaser(): () => void {
    const t0 = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holdMs = 0.8 * this.holdMs + 0.2 * (performance.now() - t0);
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  /** Runs fn holding a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Holds a slot for the rest of the request (released when the response closes, or at once if
   * the client went away while queued). Sets `res.locals.queueMs`.
   */
  middleware(): RequestHandler {
    return (_req, res, next) => {
      const t0 = performance.now();
      let release: (() => void) | null = null;
      let closed = false;
      res.once('close', () => {
        closed = true;
        release?.();
      });
      this.acquire().then((r) => {
        if (closed) return r();
        release = r;
        res.locals['queueMs'] = performance.now() - t0;
        next();
      }, next);
    };
  }

  stats(): GateStats {
    return {
      name: this.name,
      concurrency: this.concurrency,
      maxQueue: this.maxQueue,
      active: this.active,
      waiting: this.waiting.length,
      rejected: this.rejected,
    };
  }
}

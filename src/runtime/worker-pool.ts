/**
 * One process-wide pool of ONNX worker threads, sized to the cores, shared by every Encoder.
 *
 * Encoders `acquire()` it and `release()` it; the last release terminates the workers. Idle
 * workers are unref'd, so an open but idle pool never keeps the process alive. The first worker
 * starts at once; the others on their first call (a one-query process starts one thread). A worker that dies
 * fails its pending calls and is replaced by a fresh one (with no sessions) on the next call.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BackendError, MatsearchError, ShapeError, ValidationError } from '../errors.js';
import { READY_ID, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

type Pending = {
  resolve: (r: Extract<WorkerReply, { ok: true }>) => void;
  reject: (e: Error) => void;
};

/** Distributes a request type without its id (the pool numbers requests). */
type Request = WorkerRequest extends infer R
  ? R extends WorkerRequest
    ? Omit<R, 'id'>
    : never
  : never;

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  /** Session keys this worker has been sent the model for. */
  readonly loaded = new Set<string>();
  private readonly worker: Worker;
  dead = false;
  /** Until the thread says its binding loaded (READY_ID), it keeps the process alive. */
  private booting = true;

  constructor() {
    this.worker = new Worker(new URL('./ort-worker.js', import.meta.url));
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`worker exited with code ${code}`)));
    // Ref'd while it boots: a process that ends while the thread is inside onnxruntime's load
    // aborts ("terminate called after throwing an instance of 'Napi::Error'").
  }

  post(req: WorkerRequest, transfer: ArrayBuffer[]): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
      this.worker.postMessage(req, transfer);
    });
  }

  private settle(reply: WorkerReply): void {
    if (reply.id === READY_ID) {
      this.booting = false;
      if (this.pending.size === 0) this.worker.unref();
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.booting) this.worker.unref();
    if (reply.ok) p.resolve(reply);
    else p.reject(remoteError(reply.code, reply.message));
  }

  private fail(err: Error): void {
    this.dead = true;
    for (const p of this.pending.values()) {
      p.reject(new BackendError(`ONNX worker failed: ${err.message}`, { cause: err }));
    }
    this.pending.clear();
  }

  terminate(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }
}

function remoteError(code: string, message: string): MatsearchError {
  if (code === 'E_SHAPE') return new ShapeError(message);
  if (code === 'E_VALIDATION') return new ValidationError(message);
  return new BackendError(message);
}

export class WorkerPool {
  private static shared: WorkerPool | null = null;
  private static users = 0;

  /** null: not started yet. */
  private readonly workers: (PoolWorker | null)[];
  private nextId = 0;

  private constructor(size: number) {
    this.workers = Array.from({ length: size }, (_, i) => (i === 0 ? new PoolWorker() : null));
  }

  /** The process-wide pool (created on first use), counted until `release()`. */
  static acquire(): WorkerPool {
    WorkerPool.prestart();
    WorkerPool.users++;
    return WorkerPool.shared!;
  }

  /**
   * Makes the process-wide pool now, uncounted, so that its first worker boots and loads
   * onnxruntime while the caller goes on loading its own modules (on another core); the first
   * `acquire()` takes it over. Never acquired, its idle worker is unref'd: the process still exits.
   */
  static prestart(): void {
    const env = Number(process.env['MATSEARCH_WORKERS']);
    WorkerPool.shared ??= new WorkerPool(
      Number.isInteger(env) && env > 0 ? env : availableParallelism(),
    );
  }

  /** Gives back one acquisition; the last one terminates the workers. */
  async release(): Promise<void> {
    if (WorkerPool.shared !== this || WorkerPool.users === 0) return;
    if (--WorkerPool.users > 0) return;
    WorkerPool.shared = null;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Indices of the `n` workers with the fewest pending calls, least busy first. A worker not
   * started yet counts as one call busy (its start), so one already loading a session wins ties.
   */
  leastBusy(n: number): number[] {
    return this.workers
      .map((w, i) => [w && !w.dead ? w.pending.size : 1, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .slice(0, n)
      .map(([, i]) => i);
  }

  /** Workers running now (started and not dead): more start on their first call. */
  get running(): number {
    return this.workers.filter((w) => w && !w.dead).length;
  }

  /** Whether worker i was already sent the model of `key`. */
  hasLoaded(i: number, key: string): boolean {
    return this.live(i).loaded.has(key);
  }

  /** Sends a request to worker i; `loads` marks a key it now holds (sent with this request). */
  call(
    i: number,
    req: Request,
    transfer: ArrayBuffer[] = [],
    loads?: string,
  ): Promise<Extract<WorkerReply, { ok: true }>> {
    const w = this.live(i);
    if (loads) w.loaded.add(loads);
    const sent = w.post({ ...req, id: this.nextId++ } as WorkerRequest, transfer);
    if (loads) sent.catch(() => w.loaded.delete(loads));
    return sent;
  }

  /** Releases session `key` on every worker that was sent its model (the next run resends it). */
  unload(key: string): void {
    this.workers.forEach((w, i) => {
      if (!w || w.dead || !w.loaded.delete(key)) return;
      this.call(i, { kind: 'drop', key }).catch(() => undefined);
    });
  }

  /** Sessions each worker holds (0 for one not started). */
  async sessionCounts(): Promise<number[]> {
    return Promise.all(
      this.workers.map(async (w, i) =>
        w ? ((await this.call(i, { kind: 'stats' })).sessions ?? 0) : 0,
      ),
    );
  }

  /** Sends a request to every started worker. */
  async broadcast(req: Request): Promise<void> {
    await Promise.all(this.workers.map((w, i) => (w ? this.call(i, req) : undefined)));
  }

  /** Worker i, started first if it never was or replaced if it died. */
  private live(i: number): PoolWorker {
    let w = this.workers[i];
    if (!w || w.dead) {
      w = new PoolWorker();
      this.workers[i] = w;
    }
    return w;
  }
}

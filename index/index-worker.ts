/**
 * A vector index that lives in a worker thread, so a search never blocks the main thread's event
 * loop (hnswlib-node's and usearch's searches are synchronous native calls): what a server uses.
 *
 * Design. The native index (any kind of `engines.ts`) is built, loaded, searched and saved in the
 * worker; the main thread keeps a mirror of the live labels, so `has`, `size` and `labels` answer
 * at once and `LibraryIndex` runs unchanged on top. Requests go through one ordered channel:
 *   - `add` and `remove` are posted without waiting (adds are batched, 512 vectors per message,
 *     their buffers transferred); every later request sees them, since the worker works in order;
 *   - `searchAsync` resolves when the worker answers: the main thread is free meanwhile;
 *   - `create`, `load`, `save` and the synchronous `search` block until answered (Atomics.wait on
 *     a shared counter, the answer read with receiveMessageOnPort), as those calls block in-process
 *     anyway and their callers (open, ingest, close, dupes) are synchronous.
 * Filters are functions and cannot cross threads: a filtered search over-fetches and filters here.
 * `close()` terminates the worker, which frees the native memory with it.
 */
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import {
  MatsearchError,
  NotFoundError,
  NotOpenError,
  ShapeError,
  ValidationError,
  WeightsFormatError,
} from '../src/errors.js';
import type { IndexKind, IndexSpec } from './engines.js';
import {
  searchFiltered,
  searchFilteredAsync,
  type SearchHits,
  type VectorIndex,
} from './vector-index.js';

/** Slots of the shared Int32Array: answers given, messages handled, the worker has exited. */
export const SLOT_REPLY = 0;
export const SLOT_BEAT = 1;
export const SLOT_DEAD = 2;

export type Request =
  | { op: 'create'; id: number; sync: true; spec: IndexSpec }
  | { op: 'load'; id: number; sync: true; kind: IndexKind; path: string }
  | { op: 'add'; id?: undefined; sync?: false; labels: Float64Array; vectors: Float32Array }
  | { op: 'remove'; id?: undefined; sync?: false; labels: Float64Array }
  | {
      op: 'search';
      id: number;
      sync: boolean;
      query: Float32Array;
      k: number;
      /** Also answer the hits' stored vectors (packed, as 'vectors' does): one round trip. */
      vectors?: boolean;
    }
  | { op: 'vectors'; id: number; sync: false; labels: Float64Array }
  | { op: 'save'; id: number; sync: boolean; path: string };

/** Vectors in one array (transferred as one buffer, not cloned as many); present[i] = 0: none. */
export interface PackedVectors {
  readonly packed: Float32Array;
  readonly present: Uint8Array;
}

export interface WireError {
  code: string;
  message: string;
}

export type Reply =
  | { id: number | undefined; ok: true; value: unknown }
  | { id: number | undefined; ok: false; error: WireError };

/** Adds per message: large enough to amortise posting, small enough to keep the worker busy. */
const ADD_BATCH = 512;
/** A synchronous call gives up after the worker made no progress for this long. */
const STALL_MS = 5 * 60_000;

const ERRORS: Record<string, new (message: string) => MatsearchError> = {
  E_SHAPE: ShapeError,
  E_VALIDATION: ValidationError,
  E_WEIGHTS_FORMAT: WeightsFormatError,
  E_NOT_FOUND: NotFoundError,
  E_NOT_OPEN: NotOpenError,
};

function unwire(e: WireError): Error {
  const E = ERRORS[e.code];
  if (E) return new E(e.message);
  // A system error (ENOSPC, ...) stays one, as if the save had run in this thread.
  if (!e.code.startsWith('E_')) return Object.assign(new Error(e.message), { code: e.code });
  return new MatsearchError(e.code, e.message);
}

function checkLabel(label: number): void {
  if (!Number.isSafeInteger(label) || label < 0)
    throw new ValidationError(`labels are non-negative integers, got ${label}`);
}

export class WorkerIndex implements VectorIndex {
  /** Resolves once the worker thread has exited (after `close()`, or if it died). */
  readonly exited: Promise<void>;
  private worker: Worker | null;
  private readonly syncPort: MessagePort;
  private readonly flags: Int32Array;
  private readonly live = new Set<number>();
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private failure: Error | null = null;
  private batchLabels: number[] = [];
  private batchVectors = new Float32Array(0);
  private dim_ = 0;

  private constructor(readonly kind: IndexKind) {
    const signal = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    this.flags = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.syncPort = port1;
    const worker = new Worker(new URL('./index-worker-thread.js', import.meta.url), {
      workerData: { syncPort: port2, signal },
      transferList: [port2],
    });
    this.worker = worker;
    worker.unref(); // held only while searches are in flight (see request)
    worker.on('message', (r: Reply) => this.settle(r));
    worker.on('error', (err) =>
      this.fail(
        new MatsearchError('E_INDEX', `index worker failed: ${err.message}`, { cause: err }),
      ),
    );
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        this.fail(new NotOpenError('the index worker has exited'));
        resolve();
      }),
    );
  }

  /** A new, empty index of `spec` in a new worker thread. */
  static create(spec: IndexSpec): WorkerIndex {
    const w = new WorkerIndex(spec.kind);
    w.callOrClose({ op: 'create', id: w.nextId++, sync: true, spec });
    w.setDim(spec.dim);
    return w;
  }

  /** Loads a saved index in a new worker thread (WeightsFormatError as the in-process loaders). */
  static load(kind: IndexKind, path: string): WorkerIndex {
    const w = new WorkerIndex(kind);
    const r = w.callOrClose({ op: 'load', id: w.nextId++, sync: true, kind, path }) as {
      dim: number;
      labels: Float64Array;
    };
    w.setDim(r.dim);
    for (const l of r.labels) w.live.add(l);
    return w;
  }

  private setDim(dim: number): void {
    this.dim_ = dim;
    this.batchVectors = new Float32Array(ADD_BATCH * dim);
  }

  get dim(): number {
    return this.dim_;
  }

  get size(): number {
    return this.check().live.size;
  }

  private check(): this {
    if (!this.worker) throw new NotOpenError('the index is closed');
    if (this.failure) throw this.failure;
    return this;
  }

  add(label: number, vector: Float32Array): void {
    this.check();
    if (vector.length !== this.dim)
      throw new ShapeError(`vector has ${vector.length} dims, the index holds ${this.dim}`);
    checkLabel(label);
    this.batchVectors.set(vector, this.batchLabels.length * this.dim);
    this.batchLabels.push(label);
    this.live.add(label);
    if (this.batchLabels.length === ADD_BATCH) this.flush();
    // A lone add must not wait for the next request: send what is batched once this task ends.
    else if (this.batchLabels.length === 1) queueMicrotask(() => this.flush());
  }

  /** Posts the batched adds (before any other request, which keeps the order). */
  private flush(): void {
    const n = this.batchLabels.length;
    if (n === 0 || !this.worker) return;
    const labels = Float64Array.from(this.batchLabels);
    const vectors = this.batchVectors.slice(0, n * this.dim);
    this.batchLabels = [];
    this.worker.postMessage({ op: 'add', labels, vectors } satisfies Request, [
      labels.buffer,
      vectors.buffer,
    ]);
  }

  remove(label: number): boolean {
    this.check();
    if (!this.live.delete(label)) return false;
    this.flush();
    const labels = Float64Array.of(label);
    this.worker!.postMessage({ op: 'remove', labels } satisfies Request, [labels.buffer]);
    return true;
  }

  has(label: number): boolean {
    return this.check().live.has(label);
  }

  labels(): number[] {
    return [...this.check().live];
  }

  /** Synchronous search: blocks the calling thread until the worker answers (batch jobs, tests). */
  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    this.checkQuery(query);
    const n = this.live.size;
    if (Math.min(k, n) <= 0) return { labels: [], scores: [] };
    const fetch = (want: number) =>
      this.call({ op: 'search', id: this.nextId++, sync: true, query, k: want }) as SearchHits;
    return filter ? searchFiltered(n, k, filter, fetch) : fetch(k);
  }

  /** The same search, answered later: the calling thread's event loop keeps running meanwhile. */
  async searchAsync(
    query: Float32Array,
    k: number,
    filter?: (label: number) => boolean,
  ): Promise<SearchHits> {
    this.checkQuery(query);
    const n = this.live.size;
    if (Math.min(k, n) <= 0) return { labels: [], scores: [] };
    const fetch = (want: number) =>
      this.request({ op: 'search', id: this.nextId++, sync: false, query, k: want });
    return filter ? searchFilteredAsync(n, k, filter, fetch) : fetch(k);
  }

  /**
   * `searchAsync` (unfiltered) with the hits' stored vectors, as `vectorsAsync` gives them, in
   * one round trip to the worker rather than two: a server's search then its rerank.
   */
  async searchWithVectorsAsync(
    query: Float32Array,
    k: number,
  ): Promise<{ hits: SearchHits; vectors: (Float32Array | undefined)[] | null }> {
    this.checkQuery(query);
    if (Math.min(k, this.live.size) <= 0) return { hits: { labels: [], scores: [] }, vectors: [] };
    const r = await this.request<SearchHits & Partial<PackedVectors>>({
      op: 'search',
      id: this.nextId++,
      sync: false,
      query,
      k,
      vectors: true,
    });
    return {
      hits: { labels: r.labels, scores: r.scores },
      vectors: r.packed && r.present ? this.unpack(r as PackedVectors, r.labels.length) : null,
    };
  }

  private unpack(r: PackedVectors, n: number): (Float32Array | undefined)[] {
    const d = this.dim;
    return Array.from({ length: n }, (_, i) =>
      r.present[i] ? r.packed.subarray(i * d, (i + 1) * d) : undefined,
    );
  }

  /**
   * The stored unit vectors of `labels` (undefined for one no longer in the index), answered
   * later; null when the engine keeps no exact copy (see `VectorIndex.vectors`).
   */
  async vectorsAsync(labels: readonly number[]): Promise<(Float32Array | undefined)[] | null> {
    this.check();
    if (labels.length === 0) return [];
    const r = await this.request<PackedVectors | null>({
      op: 'vectors',
      id: this.nextId++,
      sync: false,
      labels: Float64Array.from(labels),
    });
    return r ? this.unpack(r, labels.length) : null;
  }

  private checkQuery(query: Float32Array): void {
    this.check();
    if (query.length !== this.dim)
      throw new ShapeError(`query has ${query.length} dims, the index holds ${this.dim}`);
  }

  save(path: string): void {
    this.check().call({ op: 'save', id: this.nextId++, sync: true, path });
  }

  /**
   * Saves in the worker while the event loop goes on: the file is the index as it stands when
   * this is called (the worker works in order), whatever is added or removed meanwhile.
   */
  saveAsync(path: string): Promise<void> {
    return this.request<void>({ op: 'save', id: this.nextId++, sync: false, path });
  }

  /** Ends the worker (and with it the native index); pending searches reject. Idempotent. */
  close(): void {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.batchLabels = [];
    this.live.clear();
    this.rejectAll(new NotOpenError('the index was closed'));
    this.syncPort.close();
    void w.terminate();
  }

  private request<T = SearchHits>(m: Request & { id: number }): Promise<T> {
    this.check().flush();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(m.id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.size === 1) this.worker!.ref(); // keep the process alive for the answer
      this.worker!.postMessage(m);
    });
  }

  private settle(r: Reply): void {
    const p = r.id === undefined ? undefined : this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id!);
    if (this.pending.size === 0) this.worker?.unref();
    if (r.ok) p.resolve(r.value);
    else p.reject(unwire(r.error));
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker?.unref();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.rejectAll(err);
  }

  /** A blocking request (see the file comment). */
  private call(m: Request & { id: number }): unknown {
    this.check().flush();
    const seen = Atomics.load(this.flags, SLOT_REPLY);
    this.worker!.postMessage(m);
    let beat = Atomics.load(this.flags, SLOT_BEAT);
    let since = Date.now();
    // Past a failure here the channel can no longer be trusted: every later call throws it too.
    const broken = (message: string) => (this.failure = new MatsearchError('E_INDEX', message));
    while (Atomics.load(this.flags, SLOT_REPLY) === seen) {
      if (Atomics.load(this.flags, SLOT_DEAD)) throw broken('the index worker died');
      const now = Atomics.load(this.flags, SLOT_BEAT);
      if (now !== beat) [beat, since] = [now, Date.now()];
      else if (Date.now() - since > STALL_MS)
        throw broken(`the index worker gave no answer in ${STALL_MS} ms`);
      Atomics.wait(this.flags, SLOT_REPLY, seen, 100);
    }
    const r = receiveMessageOnPort(this.syncPort)?.message as Reply | undefined;
    if (!r || r.id !== m.id) throw broken('the index worker answered out of turn');
    if (!r.ok) throw unwire(r.error);
    return r.value;
  }

  /** A blocking request at construction: a failure ends the worker before it is thrown. */
  private callOrClose(m: Request & { id: number }): unknown {
    try {
      return this.call(m);
    } catch (err) {
      this.close();
      throw err;
    }
  }
}

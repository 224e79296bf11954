/**
 * A queue worker (`matsearch worker --queue redis://...`): takes embedding jobs, reads each file
 * from shared storage, checks it is the content that was queued, decodes it (thumbnail and model
 * input, ingest/decode.ts) and embeds it with this machine's encoder (several jobs' images per
 * encoder call, batcher.ts). The job's result carries metadata, thumbnail and vector back to the
 * writer; a worker never touches the library.
 *
 * Failures: a file that is not a usable image fails its job at once (retrying cannot help) and is
 * marked `badFile`, so the writer records it like a local ingest does; anything else (an
 * unreadable file, an encoder error) is retried with exponential back-off by BullMQ, and after
 * the last try the job lands in the dead-letter list. A worker that dies mid-job loses its lock;
 * another worker's stalled-job check puts the job back on the queue.
 *
 * Shutdown: `stop()` takes no new job and finishes the running ones; those still running after
 * `graceMs` (or at once with `release()`) go back to the queue untried, for another worker.
 */
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import type { Embedder } from '../src/embed/embedder.js';
import { ValidationError } from '../src/errors.js';
import {
  contentHash,
  decodeBytes,
  DecodeError,
  DECODE_DEFAULTS,
  readBytes,
  type DecodedImage,
} from '../ingest/decode.js';
import { Batcher } from './batcher.js';
import {
  loadBullmq,
  logErrorsOnce,
  resolveAddress,
  whenReady,
  type BullMQ,
  type QueueAddress,
} from './connection.js';
import { encodeVector, type EmbedJobData, type EmbedJobResult } from './jobs.js';

export interface WorkerOptions extends QueueAddress {
  /** Jobs in flight at once (default 8): decoding overlaps, images share encoder batches. */
  readonly concurrency?: number;
  /** Images per encoder call at most (default 32). */
  readonly batch?: number;
  /** How long a job's lock lives without renewal: a dead worker's jobs return after it (default 30 s). */
  readonly lockMs?: number;
  /** On stop, how long running jobs may take before they go back to the queue (default 30 s). */
  readonly graceMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (default 2). */
  readonly maxStalledCount?: number;
  /** Shown in logs and stored on the jobs it processes (default host/pid). */
  readonly id?: string;
  readonly log?: (msg: string) => void;
}

export interface WorkerStats {
  /** Jobs completed. */
  readonly done: number;
  /** Failed tries (retried or final). */
  readonly failed: number;
  /** Jobs put back on the queue at shutdown. */
  readonly released: number;
  /** Encoder calls. */
  readonly batches: number;
}

type EmbedJob = Job<EmbedJobData, EmbedJobResult>;
const RELEASED = Symbol('released');

export class QueueWorker {
  private worker!: Worker<EmbedJobData, EmbedJobResult>;
  private readonly batcher: Batcher;
  private readonly inflight = new Map<string, () => void>();
  private releasing = false;
  private stopping: Promise<void> | null = null;
  private counts = { done: 0, failed: 0, released: 0 };
  /** Why the worker stopped itself (a job for another model), if it did. */
  fatal: Error | null = null;
  readonly id: string;
  /** Resolves once the worker has stopped. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(
    private readonly mq: BullMQ,
    private readonly embedder: Embedder,
    private readonly o: WorkerOptions,
  ) {
    this.id = o.id ?? `${hostname()}/${process.pid}`;
    this.batcher = new Batcher((inputs, width) => embedder.embed(inputs, width), o.batch ?? 32);
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** Connects and starts taking jobs. The embedder stays the caller's to close. */
  static async start(embedder: Embedder, o: WorkerOptions): Promise<QueueWorker> {
    const { name, connection } = resolveAddress(o);
    const mq = await loadBullmq();
    const w = new QueueWorker(mq, embedder, o);
    const lockMs = o.lockMs ?? 30_000;
    w.worker = new mq.Worker<EmbedJobData, EmbedJobResult>(
      name,
      (job, token) => w.process(job, token),
      {
        connection,
        name: w.id,
        concurrency: o.concurrency ?? 8,
        lockDuration: lockMs,
        stalledInterval: lockMs,
        maxStalledCount: o.maxStalledCount ?? 2,
        autorun: false,
      },
    );
    w.worker.on('error', logErrorsOnce(w.log, `worker ${w.id}`));
    w.worker.on('completed', () => w.counts.done++);
    w.worker.on('failed', (job, err) => {
      w.counts.failed++;
      if (job) w.log(`job ${job.id} (${job.data.path}) failed: ${err.message}`);
    });
    void w.worker.run().catch((err: unknown) => w.log(`worker stopped: ${String(err)}`));
    try {
      await whenReady(w.worker, o.url);
    } catch (err) {
      await w.worker.close(true);
      throw err;
    }
    return w;
  }

  get stats(): WorkerStats {
    return { ...this.counts, batches: this.batcher.batches };
  }

  /** Jobs running now. */
  get active(): number {
    return this.inflight.size;
  }

  private log(msg: string): void {
    (this.o.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(msg);
  }

  /** Takes no new job and finishes the running ones (releasing those left after `graceMs`). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const timer = setTimeout(() => this.releaseInflight(), this.o.graceMs ?? 30_000);
      try {
        await this.worker.close();
      } finally {
        clearTimeout(timer);
        this.resolveClosed();
      }
    })();
    return this.stopping;
  }

  /** Puts the running jobs back on the queue at once, then stops. */
  release(): Promise<void> {
    this.releaseInflight();
    return this.stop();
  }

  private releaseInflight(): void {
    this.releasing = true;
    for (const release of this.inflight.values()) release();
  }

  private async process(job: EmbedJob, token?: string): Promise<EmbedJobResult> {
    const id = job.id!;
    let release!: () => void;
    const released = new Promise<typeof RELEASED>((r) => (release = () => r(RELEASED)));
    this.inflight.set(id, release);
    try {
      if (job.data.modelId !== this.embedder.modelId && !this.fatal) {
        this.fatal = new ValidationError(
          `job ${id} needs model ${job.data.modelId}, this worker runs ${this.embedder.modelId}: ` +
            `start workers with --model pointing at the weights the library uses`,
        );
        this.log(this.fatal.message);
        void this.release();
      }
      if (this.releasing) release();
      const work = this.releasing ? new Promise<never>(() => {}) : this.work(job);
      work.catch(() => {}); // a released job's late failure is nobody's business
      const r = await Promise.race([work, released]);
      if (r !== RELEASED) return r;
      await job.moveToWait(token);
      this.counts.released++;
      throw new this.mq.WaitingError();
    } finally {
      this.inflight.delete(id);
    }
  }

  private async work(job: EmbedJob): Promise<EmbedJobResult> {
    const d = job.data;
    const { embedder } = this;
    let bytes: Buffer;
    try {
      bytes = await readBytes(d.path, d.decode.maxBytes);
    } catch (err) {
      if (err instanceof DecodeError) return this.badFile(job, err);
      throw new Error(`could not read: ${(err as Error).message}`, { cause: err });
    }
    const hash = contentHash(bytes);
    if (hash !== d.hash) {
      throw new this.mq.UnrecoverableError(
        'the file changed after it was queued; ingest again to take the new content',
      );
    }
    let decoded: DecodedImage;
    try {
      const size = {
        inputSize: embedder.inputSize,
        inputChannels: embedder.inputChannels,
        preprocess: embedder.preprocess,
      };
      decoded = await decodeBytes(bytes, { ...DECODE_DEFAULTS, ...d.decode, ...size }, hash);
    } catch (err) {
      if (err instanceof DecodeError) return this.badFile(job, err);
      throw err;
    }
    const vector = await this.batcher.add(decoded.input, d.width);
    return {
      hash,
      size: decoded.size,
      width: decoded.width,
      height: decoded.height,
      format: decoded.format,
      thumbnail: decoded.thumbnail.toString('base64'),
      vector: encodeVector(vector),
      dim: vector.length,
      modelId: embedder.modelId,
      widthLabel: embedder.widthLabel(d.width),
      worker: this.id,
    };
  }

  /** Not an image we can use: fail the job now, marked so the writer records the file as bad. */
  private async badFile(job: EmbedJob, err: DecodeError): Promise<never> {
    await job.updateData({
      ...job.data,
      badFile: true,
      ...(err.limit ? { limit: err.limit } : {}),
    });
    throw new this.mq.UnrecoverableError(err.message);
  }
}

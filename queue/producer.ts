/**
 * The queued stage of an ingest (`matsearch ingest --queue redis://...`): the ingest process
 * walks, skips unchanged files and hashes exactly as a local run, then, instead of decoding,
 * queues each new content as a BullMQ job that any `matsearch worker` can take. It is also the
 * single writer: it takes the workers' results from Redis and stores them through the run's
 * IngestWriter, in transactions of up to `batch` images.
 *
 *   await lib.ingest(['/mnt/photos'], { stage: queuedStage({ url: 'redis://queue-host:6379' }) });
 *
 * Delivery is at least once and writing is idempotent: a result leaves Redis only after the
 * transaction that stored it committed, so a writer killed in between stores it again on the next
 * run (which queues the same job ids and finds the results waiting). Jobs that failed for good
 * (BullMQ's failed set) become the library's dead-letter list. A job that vanished from Redis
 * (a flushed or restarted server) is queued again.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type {
  EmbedStage,
  EmbeddedImage,
  NewContent,
  StageEnv,
  StageFactory,
} from '../ingest/stage.js';
import type { FailureLimit } from '../src/store/store.js';
import type { FoundFile } from '../ingest/walk.js';
import {
  loadBullmq,
  logErrorsOnce,
  resolveAddress,
  safeUrl,
  whenReady,
  type QueueAddress,
} from './connection.js';
import {
  jobData,
  jobIdFor,
  JOB_NAME,
  toEmbedded,
  type EmbedJobData,
  type EmbedJobResult,
} from './jobs.js';

export interface QueueIngestOptions extends QueueAddress {
  /** Tries per job before it is dead-lettered (default 5). */
  readonly attempts?: number;
  /** Delay before the first retry, doubled for each next one (default 1000 ms). */
  readonly backoffMs?: number;
  /** Jobs queued and not yet written before the walk waits for results (default 5000). */
  readonly maxOutstanding?: number;
  /** Look for results at least this often even without an event (default 2000 ms). */
  readonly pollMs?: number;
  /** Check that outstanding jobs still exist after this long without a result (default 30 s). */
  readonly reconcileMs?: number;
}

type EmbedJob = Job<EmbedJobData, EmbedJobResult>;

interface Outstanding {
  readonly data: EmbedJobData;
  /** This run's files with the job's content (a copy found while it was queued joins here). */
  readonly files: FoundFile[];
}

/** A stage that hands decoding and embedding to `matsearch worker`s over Redis. */
export function queuedStage(o: QueueIngestOptions): StageFactory {
  return (env) => QueuedStage.open(env, o);
}

class QueuedStage implements EmbedStage {
  failed = false;
  private error: unknown;
  private readonly outstanding = new Map<string, Outstanding>();
  private toAdd: string[] = [];
  private walked = false;
  private closed = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};
  private progressWaiters: (() => void)[] = [];
  private lastProgress = performance.now();
  private hinted = false;

  private constructor(
    private readonly env: StageEnv,
    private readonly o: QueueIngestOptions,
    private readonly name: string,
    private readonly queue: Queue<EmbedJobData, EmbedJobResult>,
    private readonly events: QueueEvents,
  ) {}

  static async open(env: StageEnv, o: QueueIngestOptions): Promise<QueuedStage> {
    const { name, connection } = resolveAddress(o);
    const mq = await loadBullmq();
    const queue = new mq.Queue<EmbedJobData, EmbedJobResult>(name, { connection });
    queue.on('error', logErrorsOnce(env.log, `queue ${name}`));
    const events = new mq.QueueEvents(name, { connection });
    events.on('error', logErrorsOnce(env.log, `queue ${name} events`));
    try {
      await whenReady(queue, o.url);
      await whenReady(events, o.url);
    } catch (err) {
      await Promise.allSettled([queue.close(), events.close()]);
      throw err;
    }
    const st = new QueuedStage(env, o, name, queue, events);
    const wake = () => st.wake();
    events.on('completed', wake);
    events.on('failed', wake);
    st.loop = st
      .consume()
      .catch((err: unknown) => {
        st.error = err;
        st.failed = true;
      })
      .finally(() => st.notifyProgress());
    env.log(`queueing on ${name} at ${safeUrl(o.url)}`);
    return st;
  }

  get pending(): number {
    let n = 0;
    for (const o of this.outstanding.values()) n += o.files.length;
    return n;
  }

  async submit({ file, hash }: NewContent): Promise<void> {
    const { embedder, widthLabel, decode } = this.env;
    const id = jobIdFor(hash, embedder.modelId, widthLabel);
    const known = this.outstanding.get(id);
    if (known) {
      known.files.push(file); // the same content again in this run: one job, several paths
      return;
    }
    const limits = {
      maxPixels: decode.maxPixels,
      maxBytes: decode.maxBytes,
      thumbnailSize: decode.thumbnailSize,
      timeoutMs: decode.timeoutMs,
    };
    const data = jobData(file, hash, embedder.modelId, widthLabel, limits);
    this.outstanding.set(id, { data, files: [file] });
    this.toAdd.push(id);
  }

  async settle(): Promise<void> {
    await this.push();
    const max = this.o.maxOutstanding ?? 5000;
    while (!this.failed && this.outstanding.size >= max && !this.env.signal?.aborted) {
      await new Promise<void>((r) => this.progressWaiters.push(r));
    }
  }

  async finish(): Promise<void> {
    await this.push();
    this.walked = true;
    this.wake();
    await this.loop;
    if (this.error) throw this.error;
    if (!this.env.signal?.aborted) await this.removeStale();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await this.loop;
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }

  /** Adds the jobs queued since the last call, in one round trip. */
  private async push(): Promise<void> {
    if (this.toAdd.length === 0 || this.failed) return;
    const ids = this.toAdd;
    this.toAdd = [];
    const opts = {
      attempts: this.o.attempts ?? 5,
      backoff: { type: 'exponential', delay: this.o.backoffMs ?? 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    };
    await this.queue.addBulk(
      ids.map((jobId) => ({
        name: JOB_NAME,
        data: this.outstanding.get(jobId)!.data,
        opts: { ...opts, jobId },
      })),
    );
  }

  /** Takes results and dead letters until the walk is over and nothing is outstanding. */
  private async consume(): Promise<void> {
    const pollMs = this.o.pollMs ?? 2000;
    for (;;) {
      if (this.closed || this.env.signal?.aborted) return;
      if (this.walked && this.outstanding.size === 0) return;
      const woken = new Promise<void>((r) => (this.wake = r));
      const took = await this.drain();
      if (took > 0) {
        this.lastProgress = performance.now();
        this.notifyProgress();
        continue;
      }
      if (performance.now() - this.lastProgress > (this.o.reconcileMs ?? 30_000)) {
        await this.reconcile();
        this.lastProgress = performance.now();
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise((r) => (timer = setTimeout(r, pollMs)))]);
      clearTimeout(timer);
    }
  }

  private notifyProgress(): void {
    const w = this.progressWaiters;
    this.progressWaiters = [];
    for (const r of w) r();
  }

  /** Writes the finished jobs this run is waiting for; returns how many it took. */
  private async drain(): Promise<number> {
    let took = 0;
    for (const state of ['completed', 'failed'] as const) {
      const ids = (await this.queue.getRanges([state], 0, -1, true)).filter((id) =>
        this.outstanding.has(id),
      );
      for (let s = 0; s < ids.length; s += this.env.batch) {
        const jobs = (
          await Promise.all(ids.slice(s, s + this.env.batch).map((id) => this.queue.getJob(id)))
        ).filter((j): j is EmbedJob => j !== undefined && j.id !== undefined);
        if (state === 'completed') this.writeResults(jobs);
        else this.writeDeadLetters(jobs);
        // Only now, with the results committed, may they leave Redis.
        await Promise.all(jobs.map((j) => this.queue.remove(j.id!)));
        for (const j of jobs) this.outstanding.delete(j.id!);
        took += jobs.length;
      }
    }
    return took;
  }

  private writeResults(jobs: EmbedJob[]): void {
    const { embedder, widthLabel, writer } = this.env;
    const items: EmbeddedImage[] = [];
    for (const j of jobs) {
      const out = this.outstanding.get(j.id!)!;
      try {
        const want = {
          hash: out.data.hash,
          modelId: embedder.modelId,
          widthLabel,
          dim: embedder.dim,
        };
        items.push(toEmbedded(j.returnvalue, out.files, want));
      } catch (err) {
        this.deadLetter(j, out, `unusable result: ${(err as Error).message}`, false);
      }
    }
    writer.write(items);
  }

  private writeDeadLetters(jobs: EmbedJob[]): void {
    for (const j of jobs) {
      const out = this.outstanding.get(j.id!)!;
      this.deadLetter(j, out, j.failedReason || 'failed', Boolean(j.data.badFile), j.data.limit);
    }
  }

  private deadLetter(
    j: EmbedJob,
    out: Outstanding,
    error: string,
    badFile: boolean,
    limit?: FailureLimit,
  ): void {
    for (const file of out.files) {
      this.env.writer.deadLetter({
        file,
        hash: out.data.hash,
        jobId: j.id!,
        error,
        attempts: j.attemptsMade,
        badFile,
        limit: limit ?? null,
      });
    }
  }

  /**
   * Nothing came back for a while: queue again the jobs Redis no longer has (a restarted server
   * without persistence), and say so when no worker is connected.
   */
  private async reconcile(): Promise<void> {
    const ids = [...this.outstanding.keys()].slice(0, 1000);
    const states = await Promise.all(ids.map((id) => this.queue.getJobState(id)));
    const lost = ids.filter((_, i) => states[i] === 'unknown');
    if (lost.length > 0) {
      this.env.log(`${lost.length} job(s) missing from ${this.name}: queueing them again`);
      this.toAdd.push(...lost);
      await this.push();
    }
    const workers = await this.queue.getWorkersCount();
    if (workers === 0 && !this.hinted) {
      this.hinted = true;
      this.env.log(
        `${this.outstanding.size} job(s) wait on ${this.name} and no worker is connected: ` +
          `start 'matsearch worker --queue ${safeUrl(this.o.url)}'`,
      );
    }
  }

  /** Finished jobs of content this run did not ask for (a file changed since): dropped. */
  private async removeStale(): Promise<void> {
    const ids = await this.queue.getRanges(['completed', 'failed'], 0, -1, true);
    if (ids.length === 0) return;
    await Promise.all(ids.map((id) => this.queue.remove(id)));
    this.env.log(`removed ${ids.length} stale result(s) from ${this.name}`);
  }
}

/**
 * Background ingest jobs. One runs at a time, holding the server's write gate for its whole run
 * (uploads and deletes are refused with 409 meanwhile rather than left waiting for minutes).
 * Jobs live in memory for the server's lifetime; the newest 100 are kept.
 */
import type { Library } from '../src/library.js';
import type { IngestSummary } from '../ingest/pipeline.js';
import { ApiError } from './errors.js';
import type { Gate } from './limits.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'interrupted';

export interface Job {
  readonly id: number;
  readonly kind: 'ingest';
  readonly roots: readonly string[];
  state: JobState;
  total: number;
  done: number;
  embedded: number;
  errors: number;
  readonly startedAt: number;
  finishedAt: number | null;
  summary: IngestSummary | null;
  /** The first file errors, or the reason the job failed. */
  messages: string[];
}

export interface IngestJobOptions {
  readonly prune?: boolean;
  readonly width?: string;
}

const KEEP = 100;

export class IngestJobs {
  private readonly jobs = new Map<number, Job>();
  private readonly running_ = new Map<number, { abort: AbortController; done: Promise<void> }>();
  private nextId = 1;

  constructor(
    private readonly library: Library,
    private readonly writeGate: Gate,
    private readonly log: (msg: string) => void,
  ) {}

  /** The job that is queued or running, if any. */
  get active(): Job | undefined {
    for (const id of this.running_.keys()) return this.jobs.get(id);
    return undefined;
  }

  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  /** Starts an ingest of `roots` in the background; 409 while another one is active. */
  start(roots: readonly string[], o: IngestJobOptions = {}): Job {
    const busy = this.active;
    if (busy)
      throw new ApiError(
        'E_CONFLICT',
        `an ingest is already running (job ${busy.id}); wait for it to finish (GET /api/jobs/${busy.id})`,
      );
    const job: Job = {
      id: this.nextId++,
      kind: 'ingest',
      roots,
      state: 'queued',
      total: 0,
      done: 0,
      embedded: 0,
      errors: 0,
      startedAt: Date.now(),
      finishedAt: null,
      summary: null,
      messages: [],
    };
    this.jobs.set(job.id, job);
    for (const id of this.jobs.keys()) if (this.jobs.size > KEEP) this.jobs.delete(id);
    const abort = new AbortController();
    const done = this.run(job, o, abort.signal).finally(() => this.running_.delete(job.id));
    this.running_.set(job.id, { abort, done });
    return job;
  }

  private async run(job: Job, o: IngestJobOptions, signal: AbortSignal): Promise<void> {
    try {
      await this.writeGate.run(async () => {
        if (signal.aborted) return;
        job.state = 'running';
        const s = await this.library.ingest(job.roots, {
          ...(o.width ? { width: o.width } : {}),
          prune: o.prune ?? false,
          signal,
          onProgress: (p) => {
            job.total = p.total;
            job.done = p.done;
            job.embedded = p.embedded;
            job.errors = p.errors;
          },
        });
        job.summary = s;
        job.messages = s.errors.map((e) => `${e.path}: ${e.error}`);
      });
      job.state = signal.aborted ? 'interrupted' : 'done';
    } catch (err) {
      job.state = 'failed';
      job.messages = [(err as Error).message];
      this.log(`ingest job ${job.id} failed: ${(err as Error).message}`);
    } finally {
      job.finishedAt = Date.now();
    }
  }

  /** Asks every active job to stop (it finishes its batch and saves), and waits for them. */
  async stop(): Promise<void> {
    const active = [...this.running_.values()];
    for (const r of active) r.abort.abort();
    await Promise.all(active.map((r) => r.done));
  }
}

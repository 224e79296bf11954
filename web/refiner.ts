/**
 * Background refinement: a library ingested at a narrow width is upgraded to full-width vectors
 * while the server is idle, a few images at a time, at a bounded share of the time.
 *
 * A slice runs only when no search is running or waiting and no write (ingest, upload, delete)
 * holds the write gate; it takes the write gate itself, so writes queue behind one slice at most.
 * After a slice of W ms it rests W * (1 - share) / share ms, so it never uses more than `share`
 * of the wall time however long the backlog. Searches stay correct throughout: the rerank uses
 * each image's widest stored vector, narrow or refined.
 */
import type { Library } from '../src/library.js';
import type { Gate } from './limits.js';

export interface RefinerOptions {
  /** Largest share of wall time spent refining, in (0, 1] (default 0.25). */
  readonly share?: number;
  /** Images per slice (default 8). */
  readonly batch?: number;
  /** How often an idle refiner looks for work (ms, default 2000). */
  readonly pollMs?: number;
  readonly log?: (msg: string) => void;
}

export interface RefinerStatus {
  readonly enabled: boolean;
  /** Images whose widest vector is still narrower than full width. */
  readonly narrow: number;
  /** Images this server has refined so far. */
  readonly refined: number;
  /** Images whose file could not be read again (left narrow; the next ingest deals with them). */
  readonly failed: number;
  readonly running: boolean;
  readonly share: number;
}

export class BackgroundRefiner {
  private timer: NodeJS.Timeout | null = null;
  private slice: Promise<void> | null = null;
  private stopped = false;
  private refined = 0;
  private readonly failedIds = new Set<number>();
  private narrow = 0;
  /** Narrow images not yet failed, and the vector change count they were counted at. */
  private todo = 0;
  private countedAt = -1;
  private dirty = false;
  private lastError = '';
  readonly share: number;
  private readonly batch: number;
  private readonly pollMs: number;

  constructor(
    private readonly library: Library,
    private readonly gates: { readonly search: Gate; readonly write: Gate },
    o: RefinerOptions = {},
    private readonly log: (msg: string) => void = o.log ?? (() => {}),
  ) {
    this.share = o.share ?? 0.25;
    if (!(this.share > 0 && this.share <= 1))
      throw new RangeError(`the refine share must be in (0, 1], got ${this.share}`);
    this.batch = o.batch ?? 8;
    this.pollMs = o.pollMs ?? 2000;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.countNarrow();
    this.schedule(0);
  }

  /** Stops after the slice in flight (and saves the index if it changed). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.slice;
    if (this.dirty) this.library.index.save();
    this.dirty = false;
  }

  status(): RefinerStatus {
    return {
      enabled: !this.stopped,
      narrow: this.narrow,
      refined: this.refined,
      failed: this.failedIds.size,
      running: this.slice !== null,
      share: this.share,
    };
  }

  /**
   * Narrow images still to try. The count groups every vector of the model, so it is taken
   * again only when a vector was written or deleted since (the change count says so cheaply).
   */
  private countNarrow() {
    const seq = this.library.store.vectorSeq();
    if (seq === this.countedAt) return this.todo;
    const narrow = this.library.store.narrowImages(this.library.embedder.modelId);
    this.narrow = narrow.size;
    this.todo = [...narrow.keys()].filter((id) => !this.failedIds.has(id)).length;
    this.countedAt = seq;
    return this.todo;
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.slice = this.tick().finally(() => (this.slice = null));
    }, ms);
    this.timer.unref();
  }

  private idle(): boolean {
    const s = this.gates.search.stats();
    const w = this.gates.write.stats();
    return s.active === 0 && s.waiting === 0 && w.active === 0 && w.waiting === 0;
  }

  private async tick(): Promise<void> {
    let rest = this.pollMs;
    try {
      if (this.countNarrow() === 0) {
        if (this.dirty) this.library.index.save();
        this.dirty = false;
      } else if (this.idle()) {
        const t0 = performance.now();
        const r = await this.gates.write.run(() =>
          this.library.refine({
            batch: this.batch,
            limit: this.batch,
            exclude: this.failedIds,
            save: false,
          }),
        );
        this.refined += r.refined;
        for (const id of r.failedIds) this.failedIds.add(id);
        if (r.failedIds.length > 0) this.countedAt = -1; // fewer to try, though nothing was written
        this.dirty ||= r.refined > 0;
        this.countNarrow();
        const took = performance.now() - t0;
        rest = Math.max(10, (took * (1 - this.share)) / this.share);
      }
    } catch (err) {
      // Busy (a writer arrived first), the library closing, or a real failure: try again later.
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.lastError) this.log(`background refine paused: ${message}`);
      this.lastError = message;
    }
    this.schedule(rest);
  }
}

/**
 * Gathers the images of concurrent jobs into encoder batches. A BullMQ worker runs one processor
 * call per job, but the encoder is fastest on batches (its worker threads split them), so each
 * job hands its image here and awaits its own vector. One batch runs at a time; images that
 * arrive meanwhile make up the next one. Images of different widths never share a batch.
 */
export type EmbedFn = (inputs: Float32Array[], width: string) => Promise<Float32Array[]>;

interface Item {
  readonly input: Float32Array;
  readonly resolve: (v: Float32Array) => void;
  readonly reject: (err: unknown) => void;
}

export class Batcher {
  private readonly waiting = new Map<string, Item[]>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  /** Encoder calls made (batches), for logs and tests. */
  batches = 0;

  constructor(
    private readonly embed: EmbedFn,
    /** Images per encoder call at most. */
    private readonly max = 32,
    /** How long a lone image waits for company before it runs alone. */
    private readonly lingerMs = 5,
  ) {}

  /** The vector of one preprocessed image, from the next batch of its width. */
  add(input: Float32Array, width: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      const q = this.waiting.get(width) ?? [];
      q.push({ input, resolve, reject });
      this.waiting.set(width, q);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    const full = [...this.waiting.values()].some((q) => q.length >= this.max);
    if (full) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.run();
    } else if (!this.timer && this.waiting.size > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.run();
      }, this.lingerMs);
    }
  }

  private async run(): Promise<void> {
    const next = [...this.waiting.entries()].sort((a, b) => b[1].length - a[1].length)[0];
    if (this.running || !next) return;
    const [width, q] = next;
    const items = q.splice(0, this.max);
    if (q.length === 0) this.waiting.delete(width);
    this.running = true;
    this.batches++;
    try {
      const out = await this.embed(
        items.map((it) => it.input),
        width,
      );
      items.forEach((it, i) => it.resolve(out[i]!));
    } catch (err) {
      for (const it of items) it.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}

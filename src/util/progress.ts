/**
 * A progress line for long jobs: a bar with rate and ETA redrawn in place on a TTY, plain log
 * lines every few seconds otherwise (CI logs, files).
 */
export class Progress {
  private readonly start = performance.now();
  private lastLog = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly logEveryMs = 10_000,
    /** Units already done before this run started (a resumed job), excluded from the rate. */
    private readonly startAt = 0,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** `done` units finished (of total), `rateItems` items (e.g. images) processed so far, extra text. */
  update(done: number, rateItems: number, rateUnit: string, extra = ''): void {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = rateItems / Math.max(elapsed, 1e-3);
    const frac = Math.min(1, done / this.total);
    const ran = done - this.startAt;
    const eta = ran > 0 ? (elapsed / ran) * (this.total - done) : NaN;
    const text = `${done}/${this.total} ${this.unit} | ${rate.toFixed(1)} ${rateUnit}/s | ETA ${fmtTime(eta)} | ${extra}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (performance.now() - this.lastLog >= this.logEveryMs || done >= this.total) {
      this.lastLog = performance.now();
      this.stream.write(`${new Date().toISOString()} ${text}\n`);
    }
  }

  /** Ends the in-place line. */
  done(): void {
    if (this.tty) this.stream.write('\n');
  }
}

export function fmtTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}

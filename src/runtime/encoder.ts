/**
 * The inference encoder: MatMamba-Vision on onnxruntime, off the main thread.
 *
 * An Encoder exports the model once per requested width (lazily, then cached least recently used
 * within a byte budget: every Mix'n'Match spec is a model of its own), and runs batches
 * on the process-wide worker pool: a batch is split across the workers (each runs one ORT
 * session per width on one core, in micro-batches), so the event loop only copies arrays.
 * Results are L2-normalised d_model-wide embeddings, one embedding space for every width.
 *
 *   const enc = await Encoder.open(model);            // or Encoder.load('models/general-tiny')
 *   const { embeddings, width } = await enc.encode(images, '1/4');   // images NHWC, normalised
 *   await enc.close();
 */
import { NotOpenError, ShapeError, ValidationError } from '../errors.js';
import { initBackend } from '../model/backend.js';
import { resolveWidths, STANDARD_WIDTHS, widthLabel, type WidthSpec } from '../model/nesting.js';
import type { MatMambaVision } from '../model/vision.js';
import { loadModel } from '../model/weights.js';
import { exportMatMambaAsync, type OnnxExport } from './export-matmamba.js';
import { resolveProvider, type Provider, type ProviderRequest } from './onnx.js';
import { WorkerPool } from './worker-pool.js';

export interface EncoderOptions {
  /** 'auto' (default): CUDA when onnxruntime has its provider and a GPU works, else CPU. */
  readonly provider?: ProviderRequest;
  /** Images per ORT run inside a worker (default 4; a few keep activations in cache). */
  readonly microBatch?: number;
  /** SSD chunk length of the exported graphs (default 'auto'). */
  readonly chunkSize?: number | 'auto';
  /**
   * Bytes of exported Mix'n'Match models kept (default 16 MiB; each worker's session of a model
   * takes about as much again); beyond it the least recently used spec is dropped with its
   * worker sessions, and exported again if asked for. The standard widths are always kept.
   */
  readonly cacheBytes?: number;
}

/** What the width cache holds. */
export interface EncoderCacheStats {
  /** Mix'n'Match specs cached (the standard widths, always kept, are not counted). */
  readonly widths: number;
  readonly bytes: number;
  readonly budget: number;
  readonly evicted: number;
  /** ORT sessions held by each worker (all encoders of the pool). */
  readonly workerSessions: number[];
}

export const ENCODER_CACHE_BYTES = 16 * 1024 * 1024;

export interface EncodeResult {
  /** L2-normalised features [batch, dim], row-major. */
  readonly embeddings: Float32Array;
  readonly batch: number;
  /** d_model: the same for every width. */
  readonly dim: number;
  /** Canonical label of the widths actually used ("1/4", "1/8x10,1/4x10"). */
  readonly width: string;
  /** Active dim of each layer. */
  readonly layerDims: readonly number[];
  /** Execution provider that ran it. */
  readonly provider: Provider;
}

let encoderCount = 0;

export class Encoder {
  private pool: WorkerPool | null;
  /** Exported widths, least recently used first. */
  private readonly exports = new Map<string, Promise<OnnxExport>>();
  /** Bytes of each export that has finished. */
  private readonly sizes = new Map<string, number>();
  /** Runs using each width now (never evicted meanwhile). */
  private readonly inUse = new Map<string, number>();
  private cachedBytes = 0;
  private evicted = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly id = `enc${encoderCount++}`;

  private constructor(
    private readonly model: MatMambaVision,
    private readonly owned: boolean,
    pool: WorkerPool,
    /** The execution provider every session of this encoder uses. */
    readonly provider: Provider,
    /** Why this provider (e.g. why not CUDA). */
    readonly providerNote: string,
    private readonly microBatch: number,
    private readonly chunkSize: number | 'auto',
    private readonly cacheBytes: number,
  ) {
    this.pool = pool;
  }

  /** An encoder over a loaded tfjs model (which the caller keeps and disposes). */
  static async open(model: MatMambaVision, opts: EncoderOptions = {}): Promise<Encoder> {
    return Encoder.make(model, false, opts);
  }

  /** An encoder over a saved model directory; the encoder owns the model. */
  static async load(dir: string, opts: EncoderOptions = {}): Promise<Encoder> {
    await initBackend({ purpose: 'inference' });
    return Encoder.make(loadModel(dir).model, true, opts);
  }

  private static async make(
    model: MatMambaVision,
    owned: boolean,
    opts: EncoderOptions,
  ): Promise<Encoder> {
    const microBatch = opts.microBatch ?? 4;
    if (!Number.isInteger(microBatch) || microBatch < 1) {
      throw new ValidationError(`microBatch must be a positive integer, got ${microBatch}`);
    }
    const request = opts.provider ?? 'auto';
    // A one-layer-wide probe would do; the narrowest standard width is the cheapest real model.
    const probe = async () => (await exportMatMambaAsync(model, { widths: '1/8' })).bytes;
    const { provider, note } = await resolveProvider(request, probe);
    const cacheBytes = opts.cacheBytes ?? ENCODER_CACHE_BYTES;
    if (!(cacheBytes >= 0)) throw new ValidationError(`cacheBytes must be >= 0, got ${cacheBytes}`);
    const pool = WorkerPool.acquire();
    const chunk = opts.chunkSize ?? 'auto';
    return new Encoder(model, owned, pool, provider, note, microBatch, chunk, cacheBytes);
  }

  /** Worker threads of the (process-wide) pool this encoder runs on. */
  get workers(): number {
    return this.open().size;
  }

  /** Width of every embedding (d_model). */
  get dim(): number {
    return this.model.config.dModel;
  }

  /** Bytes of the cached ONNX model at a width, exporting it on first use. */
  async onnx(widths: WidthSpec = 1): Promise<OnnxExport> {
    return this.cached(widths).ex;
  }

  /** The export of a width, made the most recently used (exported now if not cached). */
  private cached(widths: WidthSpec): { label: string; ex: Promise<OnnxExport> } {
    this.open();
    const label = widthLabel(this.model.config, resolveWidths(this.model.config, widths));
    let ex = this.exports.get(label);
    if (ex)
      this.exports.delete(label); // re-inserted last: the most recently used
    else {
      ex = exportMatMambaAsync(this.model, { widths, chunkSize: this.chunkSize });
      const made = ex;
      made.then(
        (e) => {
          if (this.exports.get(label) !== made) return; // evicted or closed meanwhile
          if ((STANDARD_WIDTHS as readonly string[]).includes(label)) return; // kept for good
          this.sizes.set(label, e.bytes.length);
          this.cachedBytes += e.bytes.length;
          this.evict();
        },
        () => {
          if (this.exports.get(label) === made) this.exports.delete(label);
        },
      );
    }
    this.exports.set(label, ex);
    return { label, ex };
  }

  /** Drops least recently used specs not in use until the cache fits its budget. */
  private evict(): void {
    const newest = [...this.exports.keys()].pop();
    for (const label of [...this.exports.keys()]) {
      if (this.cachedBytes <= this.cacheBytes) break;
      const size = this.sizes.get(label);
      if (size === undefined || label === newest || (this.inUse.get(label) ?? 0) > 0) continue;
      this.exports.delete(label);
      this.sizes.delete(label);
      this.cachedBytes -= size;
      this.evicted++;
      this.pool?.unload(`${this.id}:${label}`);
    }
  }

  /** What the width cache holds now, and how many sessions each worker keeps. */
  async cacheStats(): Promise<EncoderCacheStats> {
    return {
      widths: this.sizes.size,
      bytes: this.cachedBytes,
      budget: this.cacheBytes,
      evicted: this.evicted,
      workerSessions: await this.open().sessionCounts(),
    };
  }

  /**
   * Embeds a batch of preprocessed NHWC images ([batch, S, S, C] float32, see preprocess.ts)
   * at a width (one fraction, or per-layer widths). The caller's array is not modified.
   */
  encode(images: Float32Array, widths: WidthSpec = 1): Promise<EncodeResult> {
    const run = this.run(images, widths);
    this.inflight.add(run);
    const done = () => this.inflight.delete(run);
    run.then(done, done);
    return run;
  }

  private async run(images: Float32Array, widths: WidthSpec): Promise<EncodeResult> {
    const pool = this.open();
    const cfg = this.model.config;
    const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
    if (!(images instanceof Float32Array) || images.length === 0 || images.length % per !== 0) {
      throw new ShapeError(
        `images must be a non-empty Float32Array of [batch, ${cfg.imageSize}, ${cfg.imageSize}, ` +
          `${cfg.inChans}] values; got ${images?.length ?? 'nothing'}`,
      );
    }
    const batch = images.length / per;
    const entry = this.cached(widths);
    this.inUse.set(entry.label, (this.inUse.get(entry.label) ?? 0) + 1);
    try {
      return await this.runWith(pool, images, batch, await entry.ex);
    } finally {
      const n = (this.inUse.get(entry.label) ?? 1) - 1;
      if (n > 0) this.inUse.set(entry.label, n);
      else this.inUse.delete(entry.label);
      this.evict();
    }
  }

  private async runWith(
    pool: WorkerPool,
    images: Float32Array,
    batch: number,
    ex: OnnxExport,
  ): Promise<EncodeResult> {
    const per = images.length / batch;
    const key = `${this.id}:${ex.widthLabel}`;
    // One shard per worker (one only on a GPU), whole micro-batches where possible.
    const nShards =
      this.provider === 'cuda' ? 1 : Math.min(pool.size, Math.ceil(batch / this.microBatch));
    const workers = pool.leastBusy(nShards);
    const sizes = Array.from(
      { length: nShards },
      (_, i) => Math.floor(batch / nShards) + (i < batch % nShards ? 1 : 0),
    );
    let start = 0;
    const parts = sizes.map((n, i) => {
      const w = workers[i]!;
      const shard = images.slice(start * per, (start + n) * per); // a copy, transferred
      start += n;
      const first = !pool.hasLoaded(w, key);
      return pool.call(
        w,
        {
          kind: 'run',
          key,
          bytes: first ? ex.bytes : undefined,
          provider: this.provider,
          images: shard,
          batch: n,
          shape: { imageSize: ex.imageSize, inChans: ex.inChans, dModel: ex.dModel },
          microBatch: this.microBatch,
        },
        [shard.buffer],
        first ? key : undefined,
      );
    });
    const replies = await Promise.all(parts);
    const D = ex.dModel;
    const embeddings = new Float32Array(batch * D);
    let row = 0;
    replies.forEach((r, i) => {
      embeddings.set(r.embeddings!, row * D);
      row += sizes[i]!;
    });
    return {
      embeddings,
      batch,
      dim: D,
      width: ex.widthLabel,
      layerDims: ex.layerDims,
      provider: this.provider,
    };
  }

  /** Releases this encoder's sessions (after its running batches) and the pool. Idempotent. */
  async close(): Promise<void> {
    const pool = this.pool;
    if (!pool) return;
    this.pool = null;
    await Promise.allSettled([...this.inflight]);
    await pool.broadcast({ kind: 'drop', keyPrefix: `${this.id}:` }).catch(() => undefined);
    await pool.release();
    this.exports.clear();
    this.sizes.clear();
    this.cachedBytes = 0;
    if (this.owned) this.model.dispose();
  }

  private open(): WorkerPool {
    if (!this.pool) throw new NotOpenError('this encoder was closed');
    return this.pool;
  }
}

/**
 * The inference encoder: MatMamba-Vision on onnxruntime, off the main thread.
 *
 * An Encoder exports the model once per requested width (lazily, then cached), and runs batches
 * on the process-wide worker pool: a batch is split across the workers (each runs one ORT
 * session per width on one core, in micro-batches), so the event loop only copies arrays.
 * Results are L2-normalised d_model-wide embeddings, one embedding space for every width.
 *
 *   const enc = await Encoder.open(model);            // or Encoder.load('models/emoji-tiny')
 *   const { embeddings, width } = await enc.encode(images, '1/4');   // images NHWC, normalised
 *   await enc.close();
 */
import { NotOpenError, ShapeError, ValidationError } from '../errors.js';
import { initBackend } from '../model/backend.js';
import { resolveWidths, widthLabel, type WidthSpec } from '../model/nesting.js';
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
}

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
  private readonly exports = new Map<string, Promise<OnnxExport>>();
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
    const pool = WorkerPool.acquire();
    return new Encoder(model, owned, pool, provider, note, microBatch, opts.chunkSize ?? 'auto');
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
    this.open();
    const label = widthLabel(this.model.config, resolveWidths(this.model.config, widths));
    let ex = this.exports.get(label);
    if (!ex) {
      ex = exportMatMambaAsync(this.model, { widths, chunkSize: this.chunkSize });
      this.exports.set(label, ex);
      ex.catch(() => this.exports.delete(label));
    }
    return ex;
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
    const ex = await this.onnx(widths);
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
    if (this.owned) this.model.dispose();
  }

  private open(): WorkerPool {
    if (!this.pool) throw new NotOpenError('this encoder was closed');
    return this.pool;
  }
}

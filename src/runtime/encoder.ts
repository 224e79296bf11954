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
 *   const { logits } = await enc.classify(images, '1/4');   // a graph of its own, with the head
 *   await enc.close();
 */
import { NoHeadError, NotOpenError, ShapeError, ValidationError } from '../errors.js';
import type { MatMambaVisionConfig } from '../model/config.js';
import { readModelDir, type ModelDirInfo } from '../model/model-dir.js';
import { resolveWidths, STANDARD_WIDTHS, widthLabel, type WidthSpec } from '../model/widths.js';
import type { MatMambaVision } from '../model/vision.js';
import { defaultCacheDir, ExportCache, exportKey } from './export-cache.js';
import type { MatMambaExportOptions, OnnxExport } from './export-matmamba.js';
import { PRECISIONS, type Precision } from './quantize.js';
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
  /**
   * Folder of the on-disk export cache (export-cache.ts), or false for none. Used only by
   * `Encoder.load` (a model directory's weights hash keys it); default `defaultCacheDir()`.
   */
  readonly exportCache?: string | false;
  /**
   * Precision of the mixers' weight matrix multiplications (quantize.ts): 'fp32' (default) or
   * 'int8'. Each precision is a model of its own (OrtEmbedder's model id records it).
   */
  readonly precision?: Precision;
  /** Where one-off notes go (an export's time); default stderr. */
  readonly log?: (msg: string) => void;
}

/**
 * Where an encoder's graphs come from: the config at once, the tfjs model only when a graph must
 * be exported (not at all when every graph it runs is in the export cache).
 */
interface ModelSource {
  readonly config: MatMambaVisionConfig;
  /** The model's name and weights hash, keying the export cache; absent: no cache. */
  readonly cacheId?: { readonly name: string; readonly weightsSha256: string };
  model(): Promise<MatMambaVision>;
  /** Frees a model this source loaded itself. */
  dispose(): void;
}

/** The exporter (imported on first use: it pulls in tfjs, which a cached graph never needs). */
async function exportGraph(
  model: MatMambaVision,
  opts: MatMambaExportOptions,
): Promise<OnnxExport> {
  const { exportMatMambaAsync } = await import('./export-matmamba.js');
  return exportMatMambaAsync(model, opts);
}

/** Where a model directory's weights hash is recorded: beside the exports (none without them). */
export function hashCacheOf(opts: EncoderOptions): { hashCache?: string | false } {
  return opts.exportCache === undefined ? {} : { hashCache: opts.exportCache };
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

/** What starting one more worker thread is worth waiting for (its start's CPU, measured). */
const WORKER_START_MS = 500;

/** Input buffers kept for reuse (one per run in flight, two workers) and the largest kept. */
const SPARE_BUFFERS = 4;
const SPARE_MAX_BYTES = 4 * 1024 * 1024;

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

export interface ClassifyResult extends EncodeResult {
  /** Classifier logits [batch, nClasses], row-major. */
  readonly logits: Float32Array;
  readonly nClasses: number;
}

/** Cache key of a graph: its width label, marked when it also outputs logits. */
const graphKey = (label: string, logits: boolean) => (logits ? `${label}+logits` : label);

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
  /** Wall ms per image of each width's last batch run on a single worker. */
  private readonly msPerImage = new Map<string, number>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Input buffers workers handed back, for the next runs (`inputBuffer`). */
  private readonly spare: Float32Array[] = [];
  private readonly id = `enc${encoderCount++}`;

  private constructor(
    private readonly source: ModelSource,
    private readonly diskCache: ExportCache | null,
    private readonly log: (msg: string) => void,
    pool: WorkerPool,
    /** The execution provider every session of this encoder uses. */
    readonly provider: Provider,
    /** Why this provider (e.g. why not CUDA). */
    readonly providerNote: string,
    private readonly microBatch: number,
    private readonly chunkSize: number | 'auto',
    private readonly cacheBytes: number,
    /** Precision of every graph this encoder runs. */
    readonly precision: Precision,
  ) {
    this.pool = pool;
  }

  /** An encoder over a loaded tfjs model (which the caller keeps and disposes); no disk cache. */
  static async open(model: MatMambaVision, opts: EncoderOptions = {}): Promise<Encoder> {
    const source = { config: model.config, model: async () => model, dispose: () => {} };
    return Encoder.make(source, opts);
  }

  /**
   * An encoder over a saved model directory. Its graphs come from the export cache when there;
   * the tfjs model is loaded (and owned) only to export one that is not.
   */
  static async load(
    dir: string,
    opts: EncoderOptions = {},
    info: ModelDirInfo = readModelDir(dir, hashCacheOf(opts)),
  ): Promise<Encoder> {
    let loaded: Promise<MatMambaVision> | undefined;
    const source: ModelSource = {
      config: info.config,
      cacheId: { name: info.name, weightsSha256: info.weightsSha256 },
      model: () =>
        (loaded ??= (async () => {
          // tfjs is imported only here: a process served from the cache never loads it.
          const { initBackend } = await import('../model/backend.js');
          const { loadModel } = await import('../model/weights.js');
          await initBackend({ purpose: 'inference' });
          return loadModel(dir).model;
        })()),
      dispose: () =>
        void loaded?.then(
          (m) => m.dispose(),
          () => undefined,
        ),
    };
    return Encoder.make(source, opts);
  }

  private static async make(source: ModelSource, opts: EncoderOptions): Promise<Encoder> {
    if (opts.precision !== undefined && !PRECISIONS.includes(opts.precision))
      throw new ValidationError(
        `precision must be ${PRECISIONS.join(' or ')}, got '${String(opts.precision)}'`,
      );
    const microBatch = opts.microBatch ?? 4;
    if (!Number.isInteger(microBatch) || microBatch < 1) {
      throw new ValidationError(`microBatch must be a positive integer, got ${microBatch}`);
    }
    const request = opts.provider ?? 'auto';
    // A one-layer-wide probe would do; the narrowest standard width is the cheapest real model.
    const probe = async () => (await exportGraph(await source.model(), { widths: '1/8' })).bytes;
    const { provider, note } = await resolveProvider(request, probe);
    const cacheBytes = opts.cacheBytes ?? ENCODER_CACHE_BYTES;
    if (!(cacheBytes >= 0)) throw new ValidationError(`cacheBytes must be >= 0, got ${cacheBytes}`);
    const pool = WorkerPool.acquire();
    const chunk = opts.chunkSize ?? 'auto';
    const dir = opts.exportCache ?? defaultCacheDir();
    const disk = source.cacheId && dir !== false ? new ExportCache(dir) : null;
    const log = opts.log ?? ((m: string) => process.stderr.write(m + '\n'));
    const precision = opts.precision ?? 'fp32';
    return new Encoder(
      source,
      disk,
      log,
      pool,
      provider,
      note,
      microBatch,
      chunk,
      cacheBytes,
      precision,
    );
  }

  /** Worker threads of the (process-wide) pool this encoder runs on. */
  get workers(): number {
    return this.open().size;
  }

  /** The model's config. */
  get config(): MatMambaVisionConfig {
    return this.source.config;
  }

  /** Width of every embedding (d_model). */
  get dim(): number {
    return this.source.config.dModel;
  }

  /** Bytes of the cached ONNX model at a width (with its head: `logits`), exported on first use. */
  async onnx(widths: WidthSpec = 1, logits = false): Promise<OnnxExport> {
    return this.cached(widths, logits).ex;
  }

  /**
   * The export of a width, made the most recently used (exported now if not cached). A graph
   * with the head is another graph: `label` is then the width label marked '+logits'.
   */
  private cached(widths: WidthSpec, logits = false): { label: string; ex: Promise<OnnxExport> } {
    this.open();
    const cfg = this.source.config;
    const width = widthLabel(cfg, resolveWidths(cfg, widths));
    if (logits && cfg.nClasses === 0)
      throw new NoHeadError(
        'this model has no classification head (nClasses is 0): it can embed, not classify',
      );
    const label = graphKey(width, logits);
    let ex = this.exports.get(label);
    if (ex)
      this.exports.delete(label); // re-inserted last: the most recently used
    else {
      ex = this.exportOf(width, logits);
      const made = ex;
      made.then(
        (e) => {
          if (this.exports.get(label) !== made) return; // evicted or closed meanwhile
          if ((STANDARD_WIDTHS as readonly string[]).includes(width)) return; // kept for good
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

  /** A width's graph: from the disk cache, else exported now (and stored there). */
  private async exportOf(label: string, logits: boolean): Promise<OnnxExport> {
    const disk = this.diskCache;
    const id = this.source.cacheId;
    const opts = { widths: label, chunkSize: this.chunkSize, precision: this.precision, logits };
    if (!disk || !id) return exportGraph(await this.source.model(), opts);
    const key = exportKey({
      weightsSha256: id.weightsSha256,
      widthLabel: label,
      chunkSize: this.chunkSize,
      imageSize: this.source.config.imageSize,
      precision: this.precision,
      logits,
    });
    const hit = disk.read(key);
    if (typeof hit !== 'string') return hit;
    if (hit === 'corrupt')
      this.log(`export cache: ${disk.pathOf(key)} is unusable; exporting again`);
    const t0 = performance.now();
    const ex = await exportGraph(await this.source.model(), opts);
    const ms = performance.now() - t0;
    let where: string;
    try {
      disk.put(key, ex);
      where = `cached in ${disk.pathOf(key)}`;
    } catch (err) {
      where = `not cached: ${(err as Error).message}`; // a read-only home still encodes
    }
    const what =
      (this.precision === 'fp32' ? '' : ` (${this.precision})`) + (logits ? ' with its head' : '');
    this.log(
      `exported ${id.name} at width ${label}${what} to ONNX in ${ms.toFixed(0)} ms (once; ${where})`,
    );
    return ex;
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
   * Starts a width's session on the least busy worker, so that the first encode finds it ready
   * (a CLI search overlaps it with opening the library). A failure shows on that encode instead.
   */
  warm(widths: WidthSpec = 1): void {
    const pool = this.pool;
    let entry: ReturnType<Encoder['cached']>;
    try {
      if (!pool) return;
      entry = this.cached(widths);
    } catch {
      return; // a bad width is reported by the encode that asks for it
    }
    const key = `${this.id}:${entry.label}`;
    entry.ex
      .then((ex) => {
        const [w] = pool.leastBusy(1);
        if (w === undefined || this.pool !== pool || pool.hasLoaded(w, key)) return;
        const load = { kind: 'load', key, bytes: ex.bytes, provider: this.provider } as const;
        return pool.call(w, load, [], key);
      })
      .catch(() => undefined);
  }

  /**
   * Embeds a batch of preprocessed NHWC images ([batch, S, S, C] float32, see preprocess.ts)
   * at a width (one fraction, or per-layer widths). The caller's array is not modified.
   */
  encode(images: Float32Array, widths: WidthSpec = 1): Promise<EncodeResult> {
    return this.track(this.run(images, widths, false));
  }

  /**
   * Embeds and classifies a batch like `encode`, through a graph that also outputs the head's
   * logits (exported apart, so that embedding-only runs never pay for the head).
   */
  async classify(images: Float32Array, widths: WidthSpec = 1): Promise<ClassifyResult> {
    const r = await this.track(this.run(images, widths, true));
    return { ...r, logits: r.logits!, nClasses: this.source.config.nClasses };
  }

  private track<T>(run: Promise<T>): Promise<T> {
    this.inflight.add(run);
    const done = () => this.inflight.delete(run);
    run.then(done, done);
    return run;
  }

  private async run(
    images: Float32Array,
    widths: WidthSpec,
    logits: boolean,
  ): Promise<EncodeResult & { logits?: Float32Array }> {
    const pool = this.open();
    const cfg = this.source.config;
    const per = cfg.imageSize * cfg.imageSize * cfg.inChans;
    if (!(images instanceof Float32Array) || images.length === 0 || images.length % per !== 0) {
      throw new ShapeError(
        `images must be a non-empty Float32Array of [batch, ${cfg.imageSize}, ${cfg.imageSize}, ` +
          `${cfg.inChans}] values; got ${images?.length ?? 'nothing'}`,
      );
    }
    const batch = images.length / per;
    const entry = this.cached(widths, logits);
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
  ): Promise<EncodeResult & { logits?: Float32Array }> {
    const per = images.length / batch;
    const key = `${this.id}:${graphKey(ex.widthLabel, ex.nClasses > 0)}`;
    const nShards = this.shards(pool, batch, ex.widthLabel);
    const workers = pool.leastBusy(nShards);
    const t0 = performance.now();
    const warmed = workers.every((w) => pool.hasLoaded(w, key));
    const sizes = Array.from(
      { length: nShards },
      (_, i) => Math.floor(batch / nShards) + (i < batch % nShards ? 1 : 0),
    );
    let start = 0;
    const parts = sizes.map((n, i) => {
      const w = workers[i]!;
      const shard = this.inputBuffer(n * per); // a copy, transferred (and handed back)
      shard.set(images.subarray(start * per, (start + n) * per));
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
          shape: {
            imageSize: ex.imageSize,
            inChans: ex.inChans,
            dModel: ex.dModel,
            nClasses: ex.nClasses,
          },
          microBatch: this.microBatch,
        },
        [shard.buffer as ArrayBuffer], // ours: never a SharedArrayBuffer
        first ? key : undefined,
      );
    });
    const replies = await Promise.all(parts);
    for (const r of replies) if (r.images) this.recycle(r.images);
    // Timed only on one worker that already held the session (a load would inflate it).
    if (nShards === 1 && warmed)
      this.msPerImage.set(ex.widthLabel, (performance.now() - t0) / batch);
    const D = ex.dModel;
    const K = ex.nClasses;
    const embeddings = new Float32Array(batch * D);
    const logits = K > 0 ? new Float32Array(batch * K) : undefined;
    let row = 0;
    replies.forEach((r, i) => {
      embeddings.set(r.embeddings!, row * D);
      logits?.set(r.logits!, row * K);
      row += sizes[i]!;
    });
    return {
      ...(logits ? { logits } : {}),
      embeddings,
      batch,
      dim: D,
      width: ex.widthLabel,
      layerDims: ex.layerDims,
      provider: this.provider,
    };
  }

  /**
   * A buffer of `n` floats for a run's images: one a worker handed back, else a new one. A
   * query's input is copied for its worker (the caller keeps its own); reusing the copies
   * spares the garbage collector a 0.6 MB buffer per query at 224 px.
   */
  private inputBuffer(n: number): Float32Array {
    const i = this.spare.findIndex((b) => b.length === n);
    return i < 0 ? new Float32Array(n) : this.spare.splice(i, 1)[0]!;
  }

  private recycle(b: Float32Array): void {
    if (b.byteLength > SPARE_MAX_BYTES) return; // an ingest batch: rare, large, let it go
    this.spare.push(b);
    if (this.spare.length > SPARE_BUFFERS) this.spare.shift();
  }

  /**
   * How many workers a batch is split over: one per worker (one only on a GPU), in whole
   * micro-batches. A worker not running yet is started only when this width's measured time
   * for the batch on the running ones exceeds what a start costs (a Node environment, the
   * onnxruntime binding and a session: ~0.5 s of CPU): for a tiny model a second worker would
   * cost an ingest more CPU than it saves, while a large one gains from it from its second batch.
   */
  private shards(pool: WorkerPool, batch: number, label: string): number {
    if (this.provider === 'cuda') return 1;
    const wanted = Math.min(pool.size, Math.ceil(batch / this.microBatch));
    const running = Math.max(1, pool.running);
    if (wanted <= running) return wanted;
    const ms = this.msPerImage.get(label);
    return ms !== undefined && (ms * batch) / running > WORKER_START_MS ? wanted : running;
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
    this.source.dispose();
  }

  private open(): WorkerPool {
    if (!this.pool) throw new NotOpenError('this encoder was closed');
    return this.pool;
  }
}

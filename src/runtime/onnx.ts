/**
 * The only importer of onnxruntime-node: execution-provider choice, session creation and the
 * micro-batched run that the worker threads, the tests and the benchmark all share.
 *
 * onnxruntime-node is installed without its download script (`allowScripts` in package.json),
 * so the CUDA provider library exists only where someone installed it
 * (`npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12` with a CUDA 12 runtime).
 * 'auto' tries CUDA when that library is present and falls back to the CPU provider, saying why.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { BackendError, ShapeError, ValidationError } from '../errors.js';
import { ONNX_EMBEDDING, ONNX_FEATURES, ONNX_INPUT, ONNX_LOGITS } from './onnx-names.js';

/** An execution provider the runtime can use. */
export type Provider = 'cpu' | 'cuda';
/** What a caller may ask for. */
export type ProviderRequest = Provider | 'auto';

export type OrtSession = InferenceSession;

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;

/**
 * onnxruntime-node, loaded on first use (importing the library does not load the binding), by
 * `require`: an import of this CommonJS package would first scan its code for export names.
 */
function loadOrt(): Promise<Ort> {
  ortModule ??= new Promise<Ort>((resolve) =>
    resolve(createRequire(import.meta.url)('onnxruntime-node') as Ort),
  );
  return ortModule;
}

/**
 * Starts loading onnxruntime-node now: a worker thread calls it as it starts, so the binding loads
 * while the main thread is still reading the model it will be sent. Resolves once the load ended;
 * a failure shows on the first session instead.
 */
export function preloadOrt(): Promise<void> {
  return loadOrt().then(
    () => undefined,
    () => undefined,
  );
}

/** Where the CUDA provider library would sit next to the native binding. */
function cudaLibraryPath(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', platform(), arch(), 'libonnxruntime_providers_cuda.so');
}

/** Whether this install ships the CUDA provider (a GPU may still be missing). */
export function cudaLibraryPresent(): boolean {
  return platform() === 'linux' && existsSync(cudaLibraryPath());
}

/** One thread per session: a second intra-op thread does not help here; more workers do. */
function sessionOptions(provider: Provider): InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  };
}

/** A session on `provider` for a serialised model. */
export async function createSession(bytes: Uint8Array, provider: Provider): Promise<OrtSession> {
  const ort = await loadOrt();
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(provider));
  } catch (err) {
    throw new BackendError(
      `onnxruntime could not create a ${provider} session: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * The provider an 'auto' / explicit request resolves to, proven by building a session on it.
 * `probe` makes any valid model (called only when CUDA is worth trying). Returns the provider
 * and why (e.g. why not CUDA).
 */
export async function resolveProvider(
  request: ProviderRequest,
  probe: () => Promise<Uint8Array>,
): Promise<{ provider: Provider; note: string }> {
  if (request === 'cpu') return { provider: 'cpu', note: 'CPU requested' };
  if (!cudaLibraryPresent()) {
    const note = 'no CUDA provider library in onnxruntime-node (installed without its download)';
    if (request === 'cuda') throw new BackendError(`CUDA requested but ${note}`);
    return { provider: 'cpu', note };
  }
  try {
    const s = await createSession(await probe(), 'cuda');
    await s.release();
    return { provider: 'cuda', note: 'CUDA provider loaded' };
  } catch (err) {
    if (request === 'cuda') throw err;
    return { provider: 'cpu', note: `CUDA provider failed: ${(err as Error).message}` };
  }
}

/** Results of one run: raw features and their L2-normalised copies, both [B, D]. */
export interface RunOutput {
  readonly features: Float32Array;
  readonly embeddings: Float32Array;
  /** Classifier logits [B, n_classes], from a graph exported with its head only. */
  readonly logits?: Float32Array;
}

/**
 * Runs NHWC images [B, S, S, C] through a session in micro-batches of at most `microBatch`
 * (a few images keep the activations in cache: measured 253 ms/image at 2 vs 320 at 32 for the
 * 35M model on one core). Returns [B, D] features and embeddings, and [B, n_classes] logits
 * when `shape.nClasses` says the graph has them.
 */
export async function runImages(
  session: OrtSession,
  images: Float32Array,
  batch: number,
  shape: { imageSize: number; inChans: number; dModel: number; nClasses?: number },
  microBatch: number,
): Promise<RunOutput> {
  const per = shape.imageSize * shape.imageSize * shape.inChans;
  if (images.length !== batch * per) {
    throw new ShapeError(
      `images hold ${images.length} values; expected ${batch} x ${shape.imageSize} x ` +
        `${shape.imageSize} x ${shape.inChans} = ${batch * per}`,
    );
  }
  if (!Number.isInteger(microBatch) || microBatch < 1) {
    throw new ValidationError(`microBatch must be a positive integer, got ${microBatch}`);
  }
  const ort = await loadOrt();
  const D = shape.dModel;
  const features = new Float32Array(batch * D);
  const embeddings = new Float32Array(batch * D);
  const K = shape.nClasses ?? 0;
  const logits = K > 0 ? new Float32Array(batch * K) : undefined;
  for (let start = 0; start < batch; start += microBatch) {
    const n = Math.min(microBatch, batch - start);
    const input = new ort.Tensor('float32', images.subarray(start * per, (start + n) * per), [
      n,
      shape.imageSize,
      shape.imageSize,
      shape.inChans,
    ]);
    const out = await session.run({ [ONNX_INPUT]: input });
    features.set(out[ONNX_FEATURES]!.data as Float32Array, start * D);
    embeddings.set(out[ONNX_EMBEDDING]!.data as Float32Array, start * D);
    if (logits) {
      const l = out[ONNX_LOGITS];
      if (!l)
        throw new ShapeError(`the model has no '${ONNX_LOGITS}' output (exported without it)`);
      logits.set(l.data as Float32Array, start * K);
    }
    for (const t of Object.values(out)) t.dispose();
  }
  return logits ? { features, embeddings, logits } : { features, embeddings };
}

/** A session over an arbitrary model with one float input, for benchmarks (matmul peak, ViT). */
export async function runRaw(
  session: OrtSession,
  feeds: Record<string, { data: Float32Array; dims: readonly number[] }>,
): Promise<Record<string, Float32Array>> {
  const ort = await loadOrt();
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(inputs);
  const res: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) {
    res[k] = v.data as Float32Array;
  }
  return res;
}

/** Messages between the encoder pool (main thread) and its ONNX worker threads. */
import type { Provider } from './onnx.js';

/** Sizes a worker needs to shape a run. */
export interface RunShape {
  readonly imageSize: number;
  readonly inChans: number;
  readonly dModel: number;
  /** Width of the graph's logits output; 0 or absent: it has none. */
  readonly nClasses?: number;
}

export type WorkerRequest =
  | {
      readonly id: number;
      readonly kind: 'run';
      /** Session cache key: `${encoder id}:${width label}`. */
      readonly key: string;
      /** The serialised model, sent with the first run of a key on this worker only. */
      readonly bytes?: Uint8Array;
      readonly provider: Provider;
      /** NHWC images [batch, S, S, C]. */
      readonly images: Float32Array;
      readonly batch: number;
      readonly shape: RunShape;
      readonly microBatch: number;
    }
  /** Creates the session of `key` ahead of its first run (a warm start). */
  | {
      readonly id: number;
      readonly kind: 'load';
      readonly key: string;
      readonly bytes: Uint8Array;
      readonly provider: Provider;
    }
  /** Releases the sessions whose key starts with `keyPrefix` (or is exactly `key`). */
  | {
      readonly id: number;
      readonly kind: 'drop';
      readonly keyPrefix?: string;
      readonly key?: string;
    }
  /** How many sessions the worker holds. */
  | { readonly id: number; readonly kind: 'stats' };

/**
 * The id of the one message a worker sends unasked: its onnxruntime binding has loaded (or
 * failed to). Until then the pool keeps the thread ref'd, so the process never exits while the
 * thread is inside the binding's load, which aborts the whole process.
 */
export const READY_ID = -1;

export type WorkerReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly features?: Float32Array;
      readonly embeddings?: Float32Array;
      readonly logits?: Float32Array;
      readonly sessions?: number;
      /** A run's `images`, handed back (transferred) for the encoder to fill again. */
      readonly images?: Float32Array;
    }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string };

/**
 * Picks the tfjs backend once per process, before any tensor exists.
 *
 * Order: native TensorFlow (`@tensorflow/tfjs-node`, an optional dependency that installs only
 * where it can download libtensorflow), then WebAssembly with SIMD. The pure-JS `cpu` backend is
 * ~30x slower than wasm: it is never chosen silently, and never for training unless asked.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own gradient registrations ship only as extensionless ESM files that Node cannot
// load; the union package's CommonJS bundle registers the same gradients into the shared global
// registry, so it is imported for that side effect alone.
import '@tensorflow/tfjs';
import { BackendError } from '../errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** 'training' refuses the cpu backend unless `allowSlowCpu`. */
  readonly purpose?: 'training' | 'inference';
  /** Force one backend (also settable with MATSEARCH_TF_BACKEND). */
  readonly backend?: BackendName;
  readonly allowSlowCpu?: boolean;
  /** Where warnings go; defaults to stderr. */
  readonly warn?: (msg: string) => void;
}

let ready: Promise<BackendName> | undefined;

/** Initialises the backend once; later calls return the same promise. */
export function initBackend(opts: BackendOptions = {}): Promise<BackendName> {
  ready ??= choose(opts);
  return ready;
}

async function choose(opts: BackendOptions): Promise<BackendName> {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(m + '\n'));
  const forced =
    opts.backend ?? ((process.env['MATSEARCH_TF_BACKEND'] || undefined) as BackendName | undefined);
  if (forced && !['tensorflow', 'wasm', 'cpu'].includes(forced)) {
    throw new BackendError(`unknown tfjs backend '${forced}'; use tensorflow, wasm or cpu`);
  }
  const order: BackendName[] = forced ? [forced] : ['tensorflow', 'wasm'];
  const failures: string[] = [];
  for (const name of order) {
    try {
      await load(name);
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'cpu') slowCpu(opts, warn);
        return name;
      }
      failures.push(`${name}: setBackend returned false`);
    } catch (err) {
      if (err instanceof BackendError) throw err;
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (forced) throw new BackendError(`tfjs backend '${forced}' failed: ${failures.join('; ')}`);
  slowCpu(opts, warn);
  await tf.setBackend('cpu');
  return 'cpu';
}

async function load(name: BackendName): Promise<void> {
  if (name === 'tensorflow') await import('@tensorflow/tfjs-node' as string);
  else if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else await import('@tensorflow/tfjs-backend-cpu' as string);
}

function slowCpu(opts: BackendOptions, warn: (m: string) => void): void {
  const msg =
    'WARNING: tfjs is running on the pure-JavaScript cpu backend, about 30x slower than wasm. ' +
    'Reinstall dependencies (npm ci) so @tensorflow/tfjs-backend-wasm loads.';
  if (opts.purpose === 'training' && !opts.allowSlowCpu) {
    throw new BackendError(`${msg} Refusing to train on it; pass --allow-slow-cpu to insist.`);
  }
  warn('\n' + '!'.repeat(80) + '\n' + msg + '\n' + '!'.repeat(80) + '\n');
}

/** The active backend name, for reports. */
export function backendName(): string {
  return tf.getBackend();
}

/**
 * An ingest in its own process, for the fault tests. One JSON argument (ChildOptions); prints
 * JSON events on stdout: {event:'open'} once the library is open, {event:'progress'} as files
 * are handled, then {event:'done', summary, ops} or {event:'error', code, message} (exit 1).
 *
 * Fault hooks (in this process only; the product code is unchanged):
 *   - killAtOp: SIGKILL this process just before its Nth write step, counting database
 *     transactions and file writes, renames and removals (countOps reports the total);
 *   - diskBytes: file writes under the library folder fail with ENOSPC once they would pass
 *     this many bytes in all (a stand-in for a full disk where no tmpfs can be mounted).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { resolve } from 'node:path';
import type { Library as LibraryT } from '../../src/library.js';
import type { IngestProgress } from '../../ingest/pipeline.js';
import type { Store as StoreT } from '../../src/store/store.js';

export interface ChildOptions {
  readonly lib: string;
  readonly model: string;
  readonly roots: string[];
  readonly batch?: number;
  readonly concurrency?: number;
  /** Exact search below this many vectors (a small value puts HNSW under test). */
  readonly exactBelow?: number;
  /** Wait this long before each embedding batch. */
  readonly embedDelayMs?: number;
  readonly killAtOp?: number;
  readonly countOps?: boolean;
  readonly diskBytes?: number;
  readonly decodeTimeoutMs?: number;
  /** Before each embedding batch, wait until this file exists (holds the run, and its lock). */
  readonly holdFile?: string;
}

const o = JSON.parse(process.argv[2]!) as ChildOptions;
const emit = (e: Record<string, unknown>) =>
  process.stdout.write(JSON.stringify({ ...e, t: Date.now() }) + '\n');

let ops = 0;
const step = () => {
  ops++;
  if (o.killAtOp === ops) process.kill(process.pid, 'SIGKILL');
};
type Fn = (...args: never[]) => unknown;
const hook = <K extends 'writeFileSync' | 'renameSync' | 'rmSync'>(
  name: K,
  before: (...args: Parameters<(typeof fs)[K]>) => void,
) => {
  const orig = fs[name] as Fn;
  (fs as unknown as Record<string, Fn>)[name] = (...args: never[]) => {
    before(...(args as unknown as Parameters<(typeof fs)[K]>));
    return orig(...args);
  };
};
const libDir = resolve(o.lib);
let written = 0;
if (o.killAtOp !== undefined || o.countOps) {
  hook('writeFileSync', () => step());
  hook('renameSync', () => step());
  hook('rmSync', () => step());
}
if (o.diskBytes !== undefined) {
  hook('writeFileSync', (file, data) => {
    if (typeof file !== 'string' || !resolve(file).startsWith(libDir)) return;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).byteLength;
    if (written + n > o.diskBytes!) {
      const err = new Error(`ENOSPC: no space left on device, write '${file}'`);
      throw Object.assign(err, { code: 'ENOSPC', errno: -28, syscall: 'write', path: file });
    }
    written += n;
  });
}
syncBuiltinESMExports(); // the modules below see the hooked functions

const { setup } = await import('../helpers.js');
const { Store } = await import('../../src/store/store.js');
const { Library } = await import('../../src/library.js');
const { delayed, loadEmbedder } = await import('./helpers.js');
if (o.killAtOp !== undefined || o.countOps) {
  const tx = Store.prototype.transaction;
  Store.prototype.transaction = function <T>(this: StoreT, fn: () => T): T {
    step();
    return tx.call(this, fn) as T;
  };
}

await setup();
const embedder = await loadEmbedder(o.model);
let lib: LibraryT | undefined;
try {
  const slow = delayed(embedder, o.embedDelayMs ?? 0);
  const held = o.holdFile;
  lib = Library.open(o.lib, {
    embedder: held
      ? {
          ...slow,
          widthLabel: (w) => slow.widthLabel(w),
          widthRank: (w) => slow.widthRank(w),
          embed: async (inputs, width) => {
            emit({ event: 'held' });
            while (!fs.existsSync(held)) await new Promise((r) => setTimeout(r, 20));
            return slow.embed(inputs, width);
          },
        }
      : slow,
    index: o.exactBelow !== undefined ? { exactBelow: o.exactBelow } : {},
    log: (m) => emit({ event: 'log', message: m }),
  });
  emit({ event: 'open', pid: process.pid });
  const summary = await lib.ingest(o.roots, {
    batch: o.batch ?? 4,
    concurrency: o.concurrency ?? 2,
    ...(o.decodeTimeoutMs !== undefined ? { decode: { timeoutMs: o.decodeTimeoutMs } } : {}),
    onProgress: (p: IngestProgress) => emit({ event: 'progress', ...p }),
  });
  lib.close();
  emit({ event: 'done', summary, ops });
} catch (err) {
  const e = err as { code?: string; message?: string };
  emit({ event: 'error', code: e.code ?? null, message: e.message ?? String(err), ops });
  try {
    lib?.close();
  } catch {
    // a full disk may refuse the last save too
  }
  process.exitCode = 1;
}

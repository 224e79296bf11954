/**
 * The worker side of `WorkerIndex`: owns one native index and applies the requests posted to it,
 * in order. Writes (`add`, `remove`) carry no id and get no answer; if one fails, the index is in
 * an unknown state and every later request is answered with that failure. Requests marked `sync`
 * are answered on the sync port, then the shared counter is bumped and notified, which is what
 * the main thread blocks on; the others are answered on the parent port.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { MatsearchError } from '../src/errors.js';
import { createIndex, loadIndex } from './engines.js';
import type { VectorIndex } from './vector-index.js';
import {
  SLOT_BEAT,
  SLOT_DEAD,
  SLOT_REPLY,
  type PackedVectors,
  type Reply,
  type Request,
  type WireError,
} from './index-worker.js';

const { syncPort, signal } = workerData as { syncPort: MessagePort; signal: SharedArrayBuffer };
const flags = new Int32Array(signal);
let index: VectorIndex | null = null;
let broken: unknown = null;

function open(): VectorIndex {
  if (!index) throw new MatsearchError('E_INDEX', 'the worker holds no index yet');
  return index;
}

/**
 * Our codes and the system's (ENOSPC, EISDIR, ...) cross as they are, so the main thread can
 * still tell a full disk from a broken index; anything else is E_INDEX.
 */
function wire(err: unknown): WireError {
  const e = err as { code?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' && /^E[A-Z_]+$/.test(e.code) ? e.code : 'E_INDEX',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

/** The stored vectors of `labels`, packed; null when the engine keeps no exact copy. */
function packedVectors(labels: number[]): PackedVectors | null {
  const idx = open();
  if (!idx.vectors) return null;
  const vs = idx.vectors(labels);
  const packed = new Float32Array(vs.length * idx.dim);
  const present = new Uint8Array(vs.length);
  vs.forEach((v, i) => {
    if (!v) return;
    packed.set(v, i * idx.dim);
    present[i] = 1;
  });
  return { packed, present };
}

function handle(m: Request): unknown {
  switch (m.op) {
    case 'create':
      index?.close();
      index = createIndex(m.spec);
      return null;
    case 'load': {
      index?.close();
      index = loadIndex(m.kind, m.path);
      return { dim: index.dim, labels: Float64Array.from(index.labels()) };
    }
    case 'add': {
      const idx = open();
      const d = idx.dim;
      m.labels.forEach((label, i) => idx.add(label, m.vectors.subarray(i * d, (i + 1) * d)));
      return null;
    }
    case 'remove':
      for (const label of m.labels) open().remove(label);
      return null;
    case 'search': {
      const hits = open().search(m.query, m.k);
      // Flat, so that `packed` is transferred like a 'vectors' answer (below), not copied.
      return m.vectors ? { ...hits, ...(packedVectors(hits.labels) ?? {}) } : hits;
    }
    case 'vectors':
      return packedVectors([...m.labels]);
    case 'save':
      open().save(m.path);
      return null;
  }
}

parentPort!.on('message', (m: Request) => {
  let reply: Reply;
  try {
    if (broken) throw broken;
    reply = { id: m.id, ok: true, value: handle(m) };
  } catch (err) {
    if (m.id === undefined) broken ??= err;
    reply = { id: m.id, ok: false, error: wire(err) };
  }
  Atomics.add(flags, SLOT_BEAT, 1); // progress, for the main thread's stall check
  if (m.id === undefined) return;
  if (m.sync) {
    syncPort.postMessage(reply);
    Atomics.add(flags, SLOT_REPLY, 1);
    Atomics.notify(flags, SLOT_REPLY);
  } else {
    // Packed vectors move to the main thread, not copied there (see 'vectors').
    const v = reply.ok ? (reply.value as { packed?: unknown } | null) : null;
    const packed = v?.packed instanceof Float32Array ? [v.packed.buffer as ArrayBuffer] : [];
    parentPort!.postMessage(reply, packed);
  }
});

// An uncaught failure ends the thread: tell a main thread that may be blocked waiting on us.
process.on('exit', () => {
  Atomics.store(flags, SLOT_DEAD, 1);
  Atomics.notify(flags, SLOT_REPLY);
});

/**
 * Reading a PyTorch state dict file one tensor at a time, in either format `torch.save` writes:
 *
 * - zip (torch >= 1.6): `<prefix>/data.pkl` is the pickle; each storage is the entry
 *   `<prefix>/data/<key>`, raw little-endian elements.
 * - legacy (`_use_new_zipfile_serialization=False`): five pickles back to back (magic number,
 *   protocol version, sys_info, the state dict, the sorted storage keys), then each storage in
 *   key order as an int64 element count followed by its raw bytes.
 *
 * Only the pickles are read whole (tens of KB); tensors are read by positioned reads when asked
 * for, so memory holds one tensor at a time whatever the file size.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { WeightsFormatError } from '../errors.js';
import { halfToFloat } from './safetensors.js';
import {
  DTYPE_BYTES,
  PickleTruncatedError,
  stateDictTensors,
  unpickle,
  type PickleValue,
  type StorageRef,
  type TensorRef,
} from './torch-pickle.js';
import { isZip, readAt, readZipDirectory, readZipEntry, type ZipEntry } from './zip-reader.js';

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

export interface TorchCheckpoint {
  readonly path: string;
  readonly format: 'zip' | 'legacy';
  /** Tensors by state dict name, in file order. */
  readonly tensors: ReadonlyMap<string, TensorRef>;
  /** One tensor's values as float32 (fp16 and bf16 widened exactly), in row-major order. */
  read(name: string): Float32Array;
  close(): void;
}

type StorageReader = (s: StorageRef) => Buffer;

export function openTorchCheckpoint(path: string): TorchCheckpoint {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 4) throw new WeightsFormatError(`${path}: ${size} bytes is not a checkpoint`);
    const head = readAt(fd, 0, 4, path);
    const { format, tensors, readStorage } = isZip(head)
      ? openZip(fd, size, path)
      : openLegacy(fd, size, path);
    checkBounds(tensors, path);
    let open = true;
    return {
      path,
      format,
      tensors,
      read(name) {
        if (!open) throw new WeightsFormatError(`${path}: checkpoint already closed`);
        const t = tensors.get(name);
        if (!t) throw new WeightsFormatError(`${path}: no tensor '${name}'`);
        return gather(t, readStorage(t.storage));
      },
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function openZip(fd: number, size: number, path: string) {
  const entries = readZipDirectory(fd, size, path);
  const pkl = [...entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (!pkl)
    throw new WeightsFormatError(`${path}: a zip without data.pkl is not a torch.save file`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const { value } = unpickle(readZipEntry(fd, entries.get(pkl)!, path), `${path}:${pkl}`);
  const tensors = stateDictTensors(value, path);
  const entryOf = (s: StorageRef): ZipEntry => {
    const e = entries.get(`${prefix}data/${s.key}`);
    if (!e) throw new WeightsFormatError(`${path}: storage ${s.key} is missing from the archive`);
    return e;
  };
  for (const t of tensors.values()) {
    const e = entryOf(t.storage);
    if (e.size !== t.storage.numel * DTYPE_BYTES[t.storage.dtype])
      throw new WeightsFormatError(
        `${path}: storage ${t.storage.key} holds ${e.size} bytes, the pickle says ${t.storage.numel} x ${t.storage.dtype}`,
      );
  }
  const readStorage: StorageReader = (s) => readZipEntry(fd, entryOf(s), path);
  return { format: 'zip' as const, tensors, readStorage };
}

function openLegacy(fd: number, size: number, path: string) {
  // The pickles are small: read a growing prefix until all five parse.
  for (let n = Math.min(size, 1 << 20); ; n = Math.min(size, n * 4)) {
    const bytes = readAt(fd, 0, n, path);
    try {
      return parseLegacy(fd, size, path, bytes);
    } catch (err) {
      if (!(err instanceof PickleTruncatedError) || n === size) throw err;
    }
  }
}

function parseLegacy(fd: number, size: number, path: string, bytes: Buffer) {
  let pos = 0;
  const next = (): PickleValue => {
    const r = unpickle(bytes, path, pos);
    pos = r.end;
    return r.value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC && BigInt(typeof magic === 'number' ? magic : -1) !== LEGACY_MAGIC)
    throw new WeightsFormatError(
      `${path}: neither a zip nor a legacy torch.save file (no magic number)`,
    );
  const protocol = next();
  if (protocol !== LEGACY_PROTOCOL)
    throw new WeightsFormatError(`${path}: legacy protocol ${String(protocol)} is not supported`);
  next(); // sys_info: {protocol_version, little_endian, type_sizes}
  const tensors = stateDictTensors(next(), path);
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new WeightsFormatError(`${path}: the storage key list is malformed`);
  // Each storage: int64 element count, then its bytes. Find where each one starts.
  const byKey = new Map<string, StorageRef>();
  for (const t of tensors.values()) byKey.set(t.storage.key, t.storage);
  const offsets = new Map<string, number>();
  let at = pos;
  for (const key of keys as string[]) {
    const s = byKey.get(key);
    if (!s) throw new WeightsFormatError(`${path}: storage ${key} is not used by any tensor`);
    const count = Number(readAt(fd, at, 8, path).readBigInt64LE(0));
    if (count !== s.numel)
      throw new WeightsFormatError(
        `${path}: storage ${key} holds ${count} elements, the pickle says ${s.numel}`,
      );
    offsets.set(key, at + 8);
    at += 8 + count * DTYPE_BYTES[s.dtype];
    if (at > size)
      throw new WeightsFormatError(
        `${path}: storage ${key} ends at byte ${at} but the file has ${size} (truncated file)`,
      );
  }
  for (const key of byKey.keys())
    if (!offsets.has(key))
      throw new WeightsFormatError(`${path}: storage ${key} is missing from the file`);
  const readStorage: StorageReader = (s) =>
    readAt(fd, offsets.get(s.key)!, s.numel * DTYPE_BYTES[s.dtype], path);
  return { format: 'legacy' as const, tensors, readStorage };
}

/** Every element a view addresses lies inside its storage. */
function checkBounds(tensors: ReadonlyMap<string, TensorRef>, path: string): void {
  for (const [name, t] of tensors) {
    if (t.shape.some((d) => d === 0)) continue;
    const last = t.offset + t.shape.reduce((a, d, i) => a + (d - 1) * t.stride[i]!, 0);
    if (last >= t.storage.numel)
      throw new WeightsFormatError(
        `${path}: tensor '${name}' reaches element ${last} of a ${t.storage.numel}-element storage`,
      );
  }
}

/** The view's elements in row-major order, widened to float32. */
function gather(t: TensorRef, raw: Buffer): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const get = elementReader(t.storage.dtype, dv);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = get(src);
    // Advance the multi-index like an odometer, moving `src` by the strides.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += t.stride[d]!;
      if (idx[d]! < t.shape[d]!) break;
      src -= t.stride[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function elementReader(dtype: StorageRef['dtype'], dv: DataView): (i: number) => number {
  switch (dtype) {
    case 'F32':
      return (i) => dv.getFloat32(i * 4, true);
    case 'BF16': {
      // bf16 is the top half of a float32: widening is exact.
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      return (i) => {
        u[0] = dv.getUint16(i * 2, true) << 16;
        return f[0]!;
      };
    }
    case 'F16':
      return (i) => halfToFloat(dv.getUint16(i * 2, true));
  }
}

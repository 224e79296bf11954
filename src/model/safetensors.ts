/**
 * The safetensors file format (huggingface/safetensors): an 8-byte little-endian header length,
 * a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then
 * the raw little-endian tensor bytes. Reading validates everything before trusting an offset:
 * a truncated body, overlapping or out-of-range offsets, or a size that disagrees with the shape
 * are refused with a message naming the tensor.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { WeightsFormatError } from '../errors.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's limit

export interface TensorInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
}

export interface SafetensorsFile {
  readonly tensors: Map<string, { info: TensorInfo; data: Float32Array }>;
  readonly metadata: Record<string, string>;
}

/** Writes float32 tensors (in the given order) atomically: a temp file renamed into place. */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
): void {
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new WeightsFormatError(
        `tensor '${name}': shape [${t.shape}] needs ${n} values, got ${t.data.length}`,
      );
    }
    shapes.set(name, t.shape);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, safetensorsHeader(shapes, metadata));
    for (const t of tensors.values()) {
      writeSync(fd, float32Bytes(t.data));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * The bytes before the body of a float32 safetensors file holding `shapes` in this order: the
 * length prefix and the JSON header, padded so the body starts 8-byte aligned. A streaming
 * writer writes this, then each tensor's float32Bytes in the same order.
 */
export function safetensorsHeader(
  shapes: ReadonlyMap<string, readonly number[]>,
  metadata: Record<string, string> = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  // Spaces pad the header so the body starts 8-byte aligned (counted in bytes, not characters).
  const headerBytes = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([prefix, headerBytes]);
}

/** A float32 array's bytes as safetensors stores them (little-endian). */
export function float32Bytes(a: Float32Array): Uint8Array {
  if (endianness() !== 'LE')
    throw new WeightsFormatError('writing safetensors needs a little-endian host');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The JSON header of an open safetensors file, and where its body starts. */
function readHeader(
  path: string,
  fd: number,
): { header: Record<string, unknown>; bodyStart: number; size: number } {
  const size = fstatSync(fd).size;
  if (size < 8)
    throw new WeightsFormatError(`${path}: file is ${size} bytes, too short for a header`);
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  const headerLen = Number(prefix.readBigUInt64LE());
  if (headerLen > MAX_HEADER || 8 + headerLen > size) {
    throw new WeightsFormatError(
      `${path}: header length ${headerLen} does not fit in a ${size}-byte file (truncated or not safetensors)`,
    );
  }
  const headerBuf = Buffer.alloc(headerLen);
  readSync(fd, headerBuf, 0, headerLen, 8);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new WeightsFormatError(`${path}: header is not valid JSON`, { cause: err });
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new WeightsFormatError(`${path}: header is not a JSON object`);
  }
  return { header, bodyStart: 8 + headerLen, size };
}

/** Only the `__metadata__` of a safetensors file: its header is read, no tensor. */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  const fd = openSync(path, 'r');
  try {
    return parseMetadata(path, readHeader(path, fd).header['__metadata__']);
  } finally {
    closeSync(fd);
  }
}

/** Reads a safetensors file; every tensor is converted to float32. */
export function readSafetensors(path: string): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const { header, bodyStart, size } = readHeader(path, fd);
    const bodyLen = size - bodyStart;
    const metadata = parseMetadata(path, header['__metadata__']);
    const entries = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([name, v]) => [name, parseEntry(path, name, v)] as const)
      .sort((a, b) => a[1].begin - b[1].begin);
    let prevEnd = 0;
    for (const [name, e] of entries) {
      if (e.begin < prevEnd)
        throw new WeightsFormatError(`${path}: tensor '${name}' overlaps the previous tensor`);
      if (e.end > bodyLen) {
        throw new WeightsFormatError(
          `${path}: tensor '${name}' ends at byte ${e.end} of the data but the file holds ${bodyLen} (truncated file)`,
        );
      }
      prevEnd = e.end;
    }
    const tensors = new Map<string, { info: TensorInfo; data: Float32Array }>();
    for (const [name, e] of entries) {
      const raw = Buffer.alloc(e.end - e.begin);
      readSync(fd, raw, 0, raw.length, bodyStart + e.begin);
      tensors.set(name, {
        info: { dtype: e.dtype, shape: e.shape },
        data: toFloat32(raw, e.dtype),
      });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

function parseMetadata(path: string, m: unknown): Record<string, string> {
  if (m === undefined) return {};
  if (!m || typeof m !== 'object' || Array.isArray(m)) {
    throw new WeightsFormatError(`${path}: __metadata__ must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string')
      throw new WeightsFormatError(`${path}: __metadata__.${k} is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(path: string, name: string, v: unknown) {
  const bad = (why: string) => new WeightsFormatError(`${path}: tensor '${name}': ${why}`);
  if (!v || typeof v !== 'object') throw bad('entry is not an object');
  const { dtype, shape, data_offsets: off } = v as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in BYTES)) {
    throw bad(`dtype ${JSON.stringify(dtype)} is not supported (use F32, F16, BF16 or F64)`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad('shape must be a list of non-negative integers');
  }
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) {
    throw bad('data_offsets must be two non-negative integers');
  }
  const [begin, end] = off as [number, number];
  const n = (shape as number[]).reduce((a, b) => a * b, 1);
  const dt = dtype as SafetensorsDtype;
  if (end - begin !== n * BYTES[dt]) {
    throw bad(
      `shape [${shape}] of ${dt} needs ${n * BYTES[dt]} bytes, offsets give ${end - begin}`,
    );
  }
  return { dtype: dt, shape: shape as number[], begin, end };
}

function toFloat32(raw: Buffer, dtype: SafetensorsDtype): Float32Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.length / BYTES[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = dv.getUint16(i * 2, true) << 16;
        out[i] = f[0]!;
      }
      break;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      break;
  }
  return out;
}

/** An IEEE 754 half (its 16 bits) as a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

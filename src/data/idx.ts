/** Reader for the IDX format of (Fashion-)MNIST, gzipped or not. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { WeightsFormatError } from '../errors.js';

export interface IdxArray {
  readonly shape: number[];
  readonly data: Uint8Array;
}

/** Reads an unsigned-byte IDX file (magic 0x0000080N, N dims, big-endian sizes). */
export function readIdx(path: string): IdxArray {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0)
    throw new WeightsFormatError(`${path}: not an IDX file`);
  if (buf[2] !== 0x08)
    throw new WeightsFormatError(
      `${path}: IDX type 0x${buf[2]!.toString(16)} is not unsigned byte`,
    );
  const nd = buf[3]!;
  const shape: number[] = [];
  for (let i = 0; i < nd; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const start = 4 + 4 * nd;
  const n = shape.reduce((a, b) => a * b, 1);
  if (buf.length - start !== n) {
    throw new WeightsFormatError(
      `${path}: IDX body has ${buf.length - start} bytes, shape [${shape}] needs ${n}`,
    );
  }
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + start, n) };
}

/**
 * A minimal reader for the zip archives `torch.save` writes (PKWARE APPNOTE): the end record,
 * the central directory, and each entry's data offset behind its local header. Entries are
 * stored (torch's default, 64-byte aligned) or deflated; data is read with positioned reads, so
 * a 500 MB archive is never held in memory. ZIP64 records (archives past 4 GiB) are refused.
 */
import { readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { WeightsFormatError } from '../errors.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** File offset of the entry's (possibly compressed) bytes. */
  readonly dataOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Reads exactly `n` bytes at `pos` or says the file is truncated. */
export function readAt(fd: number, pos: number, n: number, where: string): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, pos + got);
    if (r === 0) {
      throw new WeightsFormatError(
        `${where}: needed ${n} bytes at offset ${pos} but the file ends at ${pos + got} (truncated file)`,
      );
    }
    got += r;
  }
  return buf;
}

/** Whether the first bytes are a zip local header ("PK\x03\x04"). */
export const isZip = (head: Uint8Array) =>
  head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4;

/** The archive's entries by name. */
export function readZipDirectory(fd: number, size: number, where: string): Map<string, ZipEntry> {
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = readAt(fd, size - tailLen, tailLen, where);
  let e = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      e = i;
      break;
    }
  }
  if (e < 0) {
    throw new WeightsFormatError(
      `${where}: a zip checkpoint without its end record (truncated or damaged file)`,
    );
  }
  const count = tail.readUInt16LE(e + 10);
  const cdSize = tail.readUInt32LE(e + 12);
  const cdOffset = tail.readUInt32LE(e + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    throw new WeightsFormatError(`${where}: ZIP64 archives (over 4 GiB) are not supported`);
  }
  if (cdOffset + cdSize > size) {
    throw new WeightsFormatError(`${where}: the zip directory lies past the end (truncated file)`);
  }
  const cd = readAt(fd, cdOffset, cdSize, where);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
      throw new WeightsFormatError(`${where}: damaged zip directory (entry ${i})`);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    const compressedSize = cd.readUInt32LE(p + 20);
    const size0 = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const localOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff)
      throw new WeightsFormatError(`${where}: ZIP64 entry '${name}' is not supported`);
    const local = readAt(fd, localOffset, 30, where);
    if (local.readUInt32LE(0) !== LOCAL)
      throw new WeightsFormatError(`${where}: damaged local header of '${name}'`);
    const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataOffset + compressedSize > size)
      throw new WeightsFormatError(`${where}: entry '${name}' runs past the end (truncated file)`);
    entries.set(name, { name, method, crc, compressedSize, size: size0, dataOffset });
  }
  return entries;
}

/** An entry's bytes, inflated if deflated, checked against its CRC-32. */
export function readZipEntry(fd: number, entry: ZipEntry, where: string): Buffer {
  const raw = readAt(fd, entry.dataOffset, entry.compressedSize, where);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = inflateRawSync(raw);
  else
    throw new WeightsFormatError(
      `${where}: entry '${entry.name}' uses zip method ${entry.method} (only stored and deflate are supported)`,
    );
  if (data.length !== entry.size || crc32(data) !== entry.crc)
    throw new WeightsFormatError(`${where}: entry '${entry.name}' fails its CRC-32 check`);
  return data;
}

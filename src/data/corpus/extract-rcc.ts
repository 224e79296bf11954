/**
 * Reads Qt binary resource files (.rcc, as `rcc --binary` writes them; GCompris ships its photos
 * this way). Layout, all big-endian: a 'qres' header (version, tree, data and names offsets, and
 * from version 3 a flags word); a tree of fixed-size nodes (14 bytes, 22 from version 2 with a
 * modification time), node 0 the root; a names table (u16 length, u32 hash, UTF-16 name); and
 * data blobs (u32 size, bytes). A zlib-compressed blob starts with its u32 uncompressed size
 * (qCompress); a zstd one is a bare zstd frame.
 */
import { execFileSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import { WeightsFormatError } from '../../errors.js';

export interface RccFile {
  /** Path inside the resource, '/'-separated, without a leading slash. */
  readonly path: string;
  readonly data: Buffer;
}

const FLAG_ZLIB = 0x01;
const FLAG_DIR = 0x02;
const FLAG_ZSTD = 0x04;

/** Node 20's zlib has no zstd; the `zstd` tool (Debian package zstd) decodes those blobs. */
function unzstd(blob: Buffer): Buffer {
  try {
    return execFileSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 1 << 30 });
  } catch (err) {
    throw new WeightsFormatError(
      'an .rcc entry is zstd-compressed and the zstd tool failed or is missing (apt install zstd)',
      { cause: err },
    );
  }
}

export function readRcc(buf: Buffer): RccFile[] {
  if (buf.length < 20 || buf.toString('latin1', 0, 4) !== 'qres')
    throw new WeightsFormatError('not a Qt resource file (no qres header)');
  const version = buf.readUInt32BE(4);
  const treeAt = buf.readUInt32BE(8);
  const dataAt = buf.readUInt32BE(12);
  const namesAt = buf.readUInt32BE(16);
  if (version < 1 || version > 3)
    throw new WeightsFormatError(`Qt resource version ${version} is not supported (1-3 are)`);
  const nodeSize = version >= 2 ? 22 : 14;
  const check = (at: number, n: number) => {
    if (at < 0 || at + n > buf.length)
      throw new WeightsFormatError('Qt resource file is truncated or corrupt');
  };
  const nameOf = (offset: number): string => {
    const at = namesAt + offset;
    check(at, 6);
    const len = buf.readUInt16BE(at);
    check(at + 6, len * 2);
    // UTF-16BE -> swap into a copy and decode as UTF-16LE.
    const swapped = Buffer.from(buf.subarray(at + 6, at + 6 + len * 2)).swap16();
    return swapped.toString('utf16le');
  };
  const out: RccFile[] = [];
  const seen = new Set<number>();
  const walk = (index: number, prefix: string) => {
    if (seen.has(index)) throw new WeightsFormatError('Qt resource tree has a cycle');
    seen.add(index);
    const at = treeAt + index * nodeSize;
    check(at, 14);
    const flags = buf.readUInt16BE(at + 4);
    const name = index === 0 ? '' : nameOf(buf.readUInt32BE(at));
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (flags & FLAG_DIR) {
      const count = buf.readUInt32BE(at + 6);
      const first = buf.readUInt32BE(at + 10);
      for (let i = 0; i < count; i++) walk(first + i, path);
      return;
    }
    const blobAt = dataAt + buf.readUInt32BE(at + 10);
    check(blobAt, 4);
    const size = buf.readUInt32BE(blobAt);
    check(blobAt + 4, size);
    const blob = buf.subarray(blobAt + 4, blobAt + 4 + size);
    let data: Buffer;
    if (flags & FLAG_ZLIB) data = inflateSync(blob.subarray(4));
    else if (flags & FLAG_ZSTD) data = unzstd(blob);
    else data = Buffer.from(blob);
    out.push({ path, data });
  };
  walk(0, '');
  return out;
}

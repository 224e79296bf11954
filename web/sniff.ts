/**
 * What an upload really is, from its first bytes (magic numbers), never from its name or the
 * client's Content-Type. Only raster formats the decoder reads are accepted; SVG (a document
 * that can carry script) and anything unknown are refused.
 */
import { isBmp } from '../ingest/bmp.js';

export interface Sniffed {
  readonly format: 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'tiff' | 'bmp';
  readonly ext: string;
  readonly mime: string;
}

const ascii = (b: Uint8Array, at: number, len: number) =>
  String.fromCharCode(...b.subarray(at, at + len));

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);

/** The image format of `bytes`, or null when it is not one we accept. */
export function sniffImage(bytes: Uint8Array): Sniffed | null {
  const b = bytes;
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { format: 'jpeg', ext: 'jpg', mime: 'image/jpeg' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { format: 'png', ext: 'png', mime: 'image/png' };
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a'))
    return { format: 'gif', ext: 'gif', mime: 'image/gif' };
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP')
    return { format: 'webp', ext: 'webp', mime: 'image/webp' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]))
    return { format: 'tiff', ext: 'tiff', mime: 'image/tiff' };
  if (isBmp(b)) return { format: 'bmp', ext: 'bmp', mime: 'image/bmp' };
  // ISO-BMFF: [size:u32be]['ftyp'][major brand][minor version][compatible brands...]
  if (b.length >= 16 && ascii(b, 4, 4) === 'ftyp') {
    const size = Math.min(b.length, new DataView(b.buffer, b.byteOffset).getUint32(0));
    const brands = [ascii(b, 8, 4)];
    for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(b, at, 4));
    if (brands.some((x) => x === 'avif' || x === 'avis'))
      return { format: 'avif', ext: 'avif', mime: 'image/avif' };
  }
  return null;
}

/** The formats sniffImage accepts, for messages and the API document. */
export const ACCEPTED_FORMATS = ['jpeg', 'png', 'gif', 'webp', 'avif', 'tiff', 'bmp'] as const;

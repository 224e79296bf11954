/**
 * Windows BMP, which sharp's libvips does not read: the header (for the pixel and decode-byte caps,
 * before any pixel is touched) and the pixels as 8-bit RGBA, top row first, for sharp's raw input.
 * Covers what writers produce: 1-, 4- and 8-bit palettes (8-bit also RLE8, which ImageMagick
 * writes by default), 16-bit (5-5-5 by default), 24-bit, 32-bit (BI_RGB, its fourth byte read as
 * alpha unless all zero, as ImageMagick and browsers do), BI_BITFIELDS and BI_ALPHABITFIELDS
 * masks at 16 and 32 bits, the OS/2 core header and the V4/V5 headers, rows stored bottom-up
 * (positive height) or top-down (negative height). RLE4 and embedded JPEG/PNG are refused with a
 * message that says so (no writer at hand to test them against).
 */
import { DecodeError } from './decode-error.js';

/** BMP header fields that matter for decoding. */
export interface BmpHeader {
  readonly width: number;
  readonly height: number;
  /** Rows stored top row first (a negative height in the file). */
  readonly topDown: boolean;
  readonly bitCount: number;
  readonly compression: number;
  /** Where the pixel rows start. */
  readonly dataOffset: number;
  /** Palette entries (BGR), for 1-, 4- and 8-bit images. */
  readonly palette: Uint8Array[];
  /** Channel masks for 16 and 32 bits: [r, g, b, a] (a = 0: opaque). */
  readonly masks: readonly [number, number, number, number];
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 2: 'RLE4', 4: 'JPEG', 5: 'PNG' };

/** Whether `bytes` starts like a BMP file ('BM' and a known DIB header size). */
export function isBmp(bytes: Uint8Array): boolean {
  if (bytes.length < 18 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) return false;
  const dib = view(bytes).getUint32(14, true);
  return [12, 40, 52, 56, 64, 108, 124].includes(dib);
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function bad(what: string): never {
  throw new DecodeError(`not a readable BMP: ${what}`);
}

/** Parses the headers (and palette), checking they fit the file; no pixel is read. */
export function bmpHeader(bytes: Uint8Array): BmpHeader {
  if (!isBmp(bytes)) bad('no BMP signature');
  const v = view(bytes);
  const dib = v.getUint32(14, true);
  if (bytes.length < 14 + dib) bad('truncated header');
  const dataOffset = v.getUint32(10, true);
  let width: number, rawHeight: number, bitCount: number, compression: number, used: number;
  if (dib === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes, always bottom-up, 3-byte palette entries.
    width = v.getUint16(18, true);
    rawHeight = v.getUint16(20, true);
    bitCount = v.getUint16(24, true);
    compression = BI_RGB;
    used = 0;
  } else {
    width = v.getInt32(18, true);
    rawHeight = v.getInt32(22, true);
    bitCount = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    used = v.getUint32(46, true);
  }
  const named = COMPRESSION_NAMES[compression];
  if (named) bad(`${named} compression is not supported (save it as an uncompressed BMP)`);
  if (![BI_RGB, BI_RLE8, BI_BITFIELDS, BI_ALPHABITFIELDS].includes(compression))
    bad(`unknown compression ${compression}`);
  if (![1, 4, 8, 16, 24, 32].includes(bitCount)) bad(`${bitCount} bits per pixel`);
  const rle = compression === BI_RLE8;
  if (rle && bitCount !== 8) bad(`RLE8 with ${bitCount} bits per pixel`);
  if (!rle && compression !== BI_RGB && bitCount !== 16 && bitCount !== 32)
    bad(`bit-field masks with ${bitCount} bits per pixel`);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) bad(`size ${width}x${rawHeight}`);
  if (rle && rawHeight < 0) bad('a top-down RLE image');

  // Masks: inside a V2+ header, else right after the 40-byte header.
  let masks: [number, number, number, number] =
    bitCount === 16
      ? [0x7c00, 0x03e0, 0x001f, 0]
      : bitCount === 32
        ? [0xff0000, 0xff00, 0xff, 0]
        : [0, 0, 0, 0];
  let paletteAt = 14 + dib;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    const n = compression === BI_ALPHABITFIELDS ? 4 : 3;
    const at = 14 + 40;
    if (dib === 40) paletteAt += 4 * n;
    if (bytes.length < at + 4 * n) bad('truncated bit-field masks');
    masks = [0, 1, 2, 3].map((i) =>
      i < n || dib >= 56 ? v.getUint32(at + 4 * i, true) : 0,
    ) as typeof masks;
  } else if (bitCount === 32) {
    masks[3] = 0xff000000; // the fourth byte, read as alpha (decodeBmp: unless it is all zero)
  }

  const palette: Uint8Array[] = [];
  if (bitCount <= 8) {
    const entry = dib === 12 ? 3 : 4;
    const count = used > 0 ? Math.min(used, 1 << bitCount) : 1 << bitCount;
    if (paletteAt + count * entry > Math.min(bytes.length, dataOffset)) bad('truncated palette');
    for (let i = 0; i < count; i++)
      palette.push(bytes.subarray(paletteAt + i * entry, paletteAt + i * entry + 3));
  }
  // RLE data has no fixed size: its decoder checks every read instead.
  if (
    dataOffset > bytes.length ||
    (!rle && dataOffset + rowStride(width, bitCount) * height > bytes.length)
  )
    bad('truncated pixel data');
  return {
    width,
    height,
    topDown: rawHeight < 0,
    bitCount,
    compression,
    dataOffset,
    palette,
    masks,
  };
}

/** Bytes of one stored row: padded to a multiple of 4. */
function rowStride(width: number, bitCount: number): number {
  return Math.ceil((width * bitCount) / 32) * 4;
}

/** A mask's shift and the factor that scales its field to 0-255. */
function field(mask: number): { shift: number; scale: number } | null {
  if (mask === 0) return null;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return { shift, scale: 255 / max };
}

/** Decodes the pixels to RGBA (4 bytes a pixel, top row first). */
export function decodeBmp(bytes: Uint8Array): {
  width: number;
  height: number;
  channels: 4;
  data: Uint8Array;
} {
  const h = bmpHeader(bytes);
  const { width, height, bitCount } = h;
  const v = view(bytes);
  const out = new Uint8Array(width * height * 4);
  const stride = rowStride(width, bitCount);
  const fields = h.masks.map(field);
  if (bitCount <= 8) {
    const indices = h.compression === BI_RGB ? unpackRows(bytes, h, stride) : unrle8(bytes, h);
    for (let i = 0, o = 0; i < indices.length; i++, o += 4) {
      const c = h.palette[indices[i]!];
      if (!c) bad(`palette index ${indices[i]} past its ${h.palette.length} entries`);
      out[o] = c[2]!;
      out[o + 1] = c[1]!;
      out[o + 2] = c[0]!;
      out[o + 3] = 255;
    }
    return { width, height, channels: 4, data: out };
  }
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + stride * (h.topDown ? y : height - 1 - y);
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      if (bitCount === 24) {
        const p = row + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
        out[o + 3] = 255;
      } else {
        const px =
          bitCount === 16 ? v.getUint16(row + x * 2, true) : v.getUint32(row + x * 4, true);
        for (let c = 0; c < 4; c++) {
          const f = fields[c];
          out[o + c] = f ? Math.round(((px & h.masks[c]!) >>> f.shift) * f.scale) : 255;
        }
      }
    }
  }
  // Some writers leave a 32-bit image's alpha bytes all 0: read that as opaque, not invisible.
  if (fields[3] && out.every((x, i) => (i & 3) !== 3 || x === 0))
    for (let i = 3; i < out.length; i += 4) out[i] = 255;
  return { width, height, channels: 4, data: out };
}

/** Palette indices of uncompressed 1-, 4- and 8-bit rows, top row first. */
function unpackRows(bytes: Uint8Array, h: BmpHeader, stride: number): Uint8Array {
  const { width, height, bitCount } = h;
  const out = new Uint8Array(width * height);
  const mask = (1 << bitCount) - 1;
  for (let y = 0; y < height; y++) {
    const row = h.dataOffset + stride * (h.topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const bit = x * bitCount;
      out[y * width + x] = (bytes[row + (bit >> 3)]! >> (8 - bitCount - (bit & 7))) & mask;
    }
  }
  return out;
}

/**
 * Palette indices of RLE8 data (bottom-up), top row first. Pairs (n, v) repeat v n times; (0, 0)
 * ends a line, (0, 1) the image, (0, 2, dx, dy) skips ahead, (0, n >= 3) is n literal indices
 * padded to a 16-bit boundary. Skipped pixels are index 0.
 */
function unrle8(bytes: Uint8Array, h: BmpHeader): Uint8Array {
  const { width, height } = h;
  const out = new Uint8Array(width * height);
  let p = h.dataOffset;
  let x = 0;
  let y = 0; // counted from the bottom row
  const next = () => {
    if (p >= bytes.length) bad('truncated RLE8 data');
    return bytes[p++]!;
  };
  const put = (index: number) => {
    if (x < width && y < height) out[(height - 1 - y) * width + x] = index;
    x++;
  };
  while (y < height) {
    const n = next();
    const v = next();
    if (n > 0) for (let i = 0; i < n; i++) put(v);
    else if (v === 0) {
      x = 0;
      y++;
    } else if (v === 1) break;
    else if (v === 2) {
      x += next();
      y += next();
    } else {
      for (let i = 0; i < v; i++) put(next());
      if (v % 2 === 1) next();
    }
  }
  return out;
}

/**
 * Decodes Truevision TGA images (Quake-engine games ship most textures as TGA, which sharp does
 * not read). Supports image types 1/2/3 (colour-mapped, true-colour, grey) and their RLE forms
 * 9/10/11, at 8, 15/16, 24 and 32 bits, with bottom-left or top-left origin.
 */
import { ValidationError } from '../../errors.js';
import type { Rgba } from './decode-dds.js';

export function decodeTga(buf: Uint8Array): Rgba {
  if (buf.length < 18) throw new ValidationError('TGA file is shorter than its header');
  const idLength = buf[0] as number;
  const cmapType = buf[1] as number;
  const type = buf[2] as number;
  const u16 = (i: number) => (buf[i] as number) | ((buf[i + 1] as number) << 8);
  const cmapStart = u16(3);
  const cmapLength = u16(5);
  const cmapDepth = buf[7] as number;
  const width = u16(12);
  const height = u16(14);
  const bpp = buf[16] as number;
  const topDown = ((buf[17] as number) & 0x20) !== 0;
  const base = type & 7;
  const rle = (type & 8) !== 0;
  if (![1, 2, 3].includes(base) || width === 0 || height === 0)
    throw new ValidationError(`TGA image type ${type} (${width}x${height}) is not supported`);
  let at = 18 + idLength;
  const cmapBytes = Math.ceil(cmapDepth / 8);
  const cmapAt = at;
  if (cmapType === 1) at += cmapLength * cmapBytes;
  const pixBytes = Math.ceil(bpp / 8);

  /** Reads one pixel of `bytes` bytes at `i` as RGBA into out[o..o+3]. */
  const put = (out: Uint8Array, o: number, i: number, bytes: number, grey: boolean) => {
    if (grey) {
      out[o] = out[o + 1] = out[o + 2] = buf[i] as number;
      out[o + 3] = bytes === 2 ? (buf[i + 1] as number) : 255;
    } else if (bytes === 2) {
      const v = u16(i);
      out[o] = (((v >> 10) & 31) * 255) / 31;
      out[o + 1] = (((v >> 5) & 31) * 255) / 31;
      out[o + 2] = ((v & 31) * 255) / 31;
      out[o + 3] = 255;
    } else {
      out[o] = buf[i + 2] as number;
      out[o + 1] = buf[i + 1] as number;
      out[o + 2] = buf[i] as number;
      out[o + 3] = bytes === 4 ? (buf[i + 3] as number) : 255;
    }
  };
  const px = new Uint8Array(width * height * 4);
  const writePixel = (n: number, i: number) => {
    if (base === 1) {
      const index = (bpp === 16 ? u16(i) : (buf[i] as number)) - cmapStart;
      if (index < 0 || index >= cmapLength)
        throw new ValidationError('TGA colour index out of range');
      put(px, n * 4, cmapAt + index * cmapBytes, cmapBytes, false);
    } else put(px, n * 4, i, pixBytes, base === 3);
  };
  const total = width * height;
  if (!rle) {
    if (at + total * pixBytes > buf.length) throw new ValidationError('TGA file is truncated');
    for (let n = 0; n < total; n++) writePixel(n, at + n * pixBytes);
  } else {
    let n = 0;
    while (n < total) {
      if (at >= buf.length) throw new ValidationError('TGA file is truncated');
      const head = buf[at++] as number;
      const count = (head & 127) + 1;
      if (n + count > total || at + (head & 128 ? 1 : count) * pixBytes > buf.length)
        throw new ValidationError('TGA run-length data is corrupt');
      for (let k = 0; k < count; k++) writePixel(n + k, head & 128 ? at : at + k * pixBytes);
      at += (head & 128 ? 1 : count) * pixBytes;
      n += count;
    }
  }
  if (topDown) return { width, height, data: px };
  // Stored bottom row first: flip to top-down.
  const out = new Uint8Array(px.length);
  const stride = width * 4;
  for (let y = 0; y < height; y++)
    out.set(px.subarray((height - 1 - y) * stride, (height - y) * stride), y * stride);
  return { width, height, data: out };
}

/**
 * Decodes DirectDraw Surface textures in the two block-compressed formats the game packages use
 * (0 A.D. caches every texture as DXT1 or DXT5), per the S3TC / BC1-BC3 block layout:
 *   - DXT1 (BC1), 8 bytes per 4x4 block: two RGB565 endpoints and 2-bit indices. If endpoint 0 >
 *     endpoint 1 the palette is c0, c1, (2c0+c1)/3, (c0+2c1)/3; otherwise c0, c1, (c0+c1)/2 and
 *     transparent black.
 *   - DXT5 (BC3), 16 bytes: two alpha endpoints and 3-bit alpha indices (8 interpolated values
 *     when a0 > a1, else 6 plus 0 and 255), then a DXT1 colour block always in 4-colour mode.
 * A DDS file holds its mip chain; `decodeDds` returns the largest level whose longer side is at
 * most `maxSide`, so a small thumbnail costs a small decode.
 */
import { ValidationError } from '../../errors.js';

export interface Rgba {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes, RGBA, rows top to bottom. */
  readonly data: Uint8Array;
}

const HEADER = 128;

function rgb565(c: number): [number, number, number] {
  const r = (c >> 11) & 31;
  const g = (c >> 5) & 63;
  const b = c & 31;
  return [(r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2)];
}

/** The 4 RGBA palette entries of a colour block at `at`; `threeColour` allows DXT1's 1-bit alpha. */
function colourPalette(buf: Uint8Array, at: number, threeColour: boolean): number[][] {
  const c0 = (buf[at] as number) | ((buf[at + 1] as number) << 8);
  const c1 = (buf[at + 2] as number) | ((buf[at + 3] as number) << 8);
  const a = rgb565(c0);
  const b = rgb565(c1);
  const mix = (wa: number, wb: number, d: number) =>
    [0, 1, 2].map((k) => Math.round(((a[k] as number) * wa + (b[k] as number) * wb) / d));
  if (c0 > c1 || !threeColour)
    return [
      [...a, 255],
      [...b, 255],
      [...mix(2, 1, 3), 255],
      [...mix(1, 2, 3), 255],
    ];
  return [
    [...a, 255],
    [...b, 255],
    [...mix(1, 1, 2), 255],
    [0, 0, 0, 0],
  ];
}

function alphaPalette(a0: number, a1: number): number[] {
  const p = [a0, a1];
  if (a0 > a1) for (let i = 1; i <= 6; i++) p.push(Math.round(((7 - i) * a0 + i * a1) / 7));
  else {
    for (let i = 1; i <= 4; i++) p.push(Math.round(((5 - i) * a0 + i * a1) / 5));
    p.push(0, 255);
  }
  return p;
}

/** Decodes one mip level of `format` starting at `at` in `buf`. */
export function decodeBlocks(
  buf: Uint8Array,
  at: number,
  width: number,
  height: number,
  format: 'DXT1' | 'DXT5',
): Rgba {
  const out = new Uint8Array(width * height * 4);
  const bw = Math.ceil(width / 4);
  const bh = Math.ceil(height / 4);
  const blockBytes = format === 'DXT1' ? 8 : 16;
  if (at + bw * bh * blockBytes > buf.length)
    throw new ValidationError('DDS file is truncated (mip level runs past the end)');
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      const blk = at + (by * bw + bx) * blockBytes;
      let alpha: number[] | null = null;
      let alphaBits = 0n;
      if (format === 'DXT5') {
        alpha = alphaPalette(buf[blk] as number, buf[blk + 1] as number);
        for (let k = 5; k >= 0; k--)
          alphaBits = (alphaBits << 8n) | BigInt(buf[blk + 2 + k] as number);
      }
      const cAt = format === 'DXT5' ? blk + 8 : blk;
      const pal = colourPalette(buf, cAt, format === 'DXT1');
      for (let py = 0; py < 4; py++) {
        const row = buf[cAt + 4 + py] as number;
        for (let px = 0; px < 4; px++) {
          const x = bx * 4 + px;
          const y = by * 4 + py;
          if (x >= width || y >= height) continue;
          const c = pal[(row >> (2 * px)) & 3] as number[];
          const o = (y * width + x) * 4;
          out[o] = c[0] as number;
          out[o + 1] = c[1] as number;
          out[o + 2] = c[2] as number;
          out[o + 3] = alpha
            ? (alpha[Number((alphaBits >> BigInt(3 * (py * 4 + px))) & 7n)] as number)
            : (c[3] as number);
        }
      }
    }
  }
  return { width, height, data: out };
}

export function decodeDds(buf: Uint8Array, maxSide = Infinity): Rgba {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < HEADER || view.getUint32(0, true) !== 0x20534444)
    throw new ValidationError('not a DDS file (no "DDS " magic)');
  const height = view.getUint32(12, true);
  const width = view.getUint32(16, true);
  const mips = Math.max(1, view.getUint32(28, true));
  const fourCC = String.fromCharCode(...buf.subarray(84, 88));
  if (fourCC !== 'DXT1' && fourCC !== 'DXT5')
    throw new ValidationError(
      `DDS format '${fourCC.replace(/\0/g, '')}' is not supported (DXT1, DXT5 are)`,
    );
  const blockBytes = fourCC === 'DXT1' ? 8 : 16;
  let at = HEADER;
  let w = width;
  let h = height;
  for (let level = 0; level < mips - 1 && Math.max(w, h) > maxSide; level++) {
    at += Math.ceil(w / 4) * Math.ceil(h / 4) * blockBytes;
    w = Math.max(1, w >> 1);
    h = Math.max(1, h >> 1);
  }
  return decodeBlocks(buf, at, w, h, fourCC);
}

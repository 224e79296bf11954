/**
 * Perceptual hashes used as copy-detection baselines, 64 bits each, stored as two uint32 words
 * (high word first, bit 63 = first pixel pair / coefficient):
 *   - dHash (Krawetz, "Kind of like that", 2013): on a 9x8 grey image, bit = left pixel brighter
 *     than its right neighbour, row by row.
 *   - pHash (the DCT hash of Zauner's 2010 thesis, as the `imagehash` package computes it): the 2-D
 *     DCT-II of a 32x32 grey image, its 8x8 lowest frequencies (DC included), bit = coefficient
 *     above their median.
 * Callers resize to 9x8 / 32x32 grey themselves (baselines.ts does it with sharp).
 */
import { ShapeError } from '../errors.js';

export const HASH_WORDS = 2;

function setBit(out: Uint32Array, bit: number): void {
  // bit 0 is the most significant bit of word 0
  out[bit >> 5]! |= 1 << (31 - (bit & 31));
}

/** dHash of grey pixels [8 rows x 9 columns]. */
export function dHash(grey9x8: ArrayLike<number>): Uint32Array {
  if (grey9x8.length !== 72)
    throw new ShapeError(`dHash needs 9x8 = 72 pixels, got ${grey9x8.length}`);
  const out = new Uint32Array(HASH_WORDS);
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++)
      if (grey9x8[y * 9 + x]! > grey9x8[y * 9 + x + 1]!) setBit(out, y * 8 + x);
  return out;
}

/** Orthonormal-free DCT-II basis cos(pi (2n + 1) k / 2N) for k < K, n < N, as [K, N]. */
function dctBasis(K: number, N: number): Float64Array {
  const b = new Float64Array(K * N);
  for (let k = 0; k < K; k++)
    for (let n = 0; n < N; n++) b[k * N + n] = Math.cos((Math.PI * (2 * n + 1) * k) / (2 * N));
  return b;
}

const BASIS = dctBasis(8, 32);

/**
 * The 8x8 lowest-frequency DCT-II coefficients of a 32x32 grey image, row-major [u, v]
 * (u vertical frequency). Unnormalised: the scale does not change the hash.
 */
export function lowDct8(grey32: ArrayLike<number>): Float64Array {
  if (grey32.length !== 1024)
    throw new ShapeError(`pHash needs 32x32 = 1024 pixels, got ${grey32.length}`);
  const rows = new Float64Array(32 * 8); // [y, v]: DCT of every row
  for (let y = 0; y < 32; y++)
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let x = 0; x < 32; x++) s += grey32[y * 32 + x]! * BASIS[v * 32 + x]!;
      rows[y * 8 + v] = s;
    }
  const out = new Float64Array(64); // [u, v]
  for (let u = 0; u < 8; u++)
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let y = 0; y < 32; y++) s += rows[y * 8 + v]! * BASIS[u * 32 + y]!;
      out[u * 8 + v] = s;
    }
  return out;
}

/** pHash of grey pixels [32 x 32]. */
export function pHash(grey32: ArrayLike<number>): Uint32Array {
  const c = lowDct8(grey32);
  const sorted = Float64Array.from(c).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  const out = new Uint32Array(HASH_WORDS);
  c.forEach((x, i) => {
    if (x > median) setBit(out, i);
  });
  return out;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between hash a of `A` (row a) and hash b of `B` (row b). */
export function hamming(A: Uint32Array, a: number, B: Uint32Array, b: number): number {
  let d = 0;
  for (let w = 0; w < HASH_WORDS; w++)
    d += popcount32((A[a * HASH_WORDS + w]! ^ B[b * HASH_WORDS + w]!) >>> 0);
  return d;
}

/**
 * The distortions copy detection must see through (after SSCD, Pizzi et al. 2022, and the
 * transforms of the DISC21 benchmark): overlays of text and other images, borders, greyscale,
 * blur, downscaling and JPEG blocking. Each works in place on one view [S, S, C] in [0, 1]
 * (C = 3), at the model's input size, so it costs little next to the model.
 */
import type { Rng } from '../util/rng.js';

/** Another image to paste as a "logo" or sticker: [src, src, 3] bytes. */
export interface OverlaySource {
  readonly img: Uint8Array;
  readonly src: number;
}

/** Pastes `o` scaled to a random 15-40% of the side at a random place, optionally see-through. */
export function pasteImage(v: Float32Array, S: number, o: OverlaySource, rng: Rng): void {
  const side = Math.max(4, Math.round(S * (0.15 + 0.25 * rng.uniform())));
  const x0 = Math.floor(rng.uniform() * (S - side));
  const y0 = Math.floor(rng.uniform() * (S - side));
  const alpha = rng.uniform() < 0.5 ? 1 : 0.5 + 0.4 * rng.uniform();
  for (let y = 0; y < side; y++) {
    const sy = Math.min(o.src - 1, Math.floor(((y + 0.5) * o.src) / side));
    for (let x = 0; x < side; x++) {
      const sx = Math.min(o.src - 1, Math.floor(((x + 0.5) * o.src) / side));
      const d = ((y0 + y) * S + x0 + x) * 3;
      const s = (sy * o.src + sx) * 3;
      for (let c = 0; c < 3; c++)
        v[d + c] = (1 - alpha) * v[d + c]! + (alpha * o.img[s + c]!) / 255;
    }
  }
}

/**
 * Text-like marks: one to three lines of short bars ("words" of "letters") in one colour,
 * as a caption, a watermark or a meme line would leave them.
 */
export function drawText(v: Float32Array, S: number, rng: Rng): void {
  const colour = rng.uniform() < 0.5 ? [1, 1, 1] : [rng.uniform(), rng.uniform(), rng.uniform()];
  const h = Math.max(2, Math.round(S * (0.05 + 0.08 * rng.uniform())));
  const lines = 1 + Math.floor(rng.uniform() * 3);
  let y = Math.floor(rng.uniform() * (S - lines * h * 1.5));
  for (let l = 0; l < lines; l++, y += Math.round(h * 1.5)) {
    let x = Math.floor(rng.uniform() * S * 0.3);
    const end = S - Math.floor(rng.uniform() * S * 0.3);
    while (x < end) {
      const letter = Math.max(1, Math.round(h * (0.3 + 0.4 * rng.uniform())));
      for (let yy = y; yy < Math.min(S, y + h); yy++)
        for (let xx = x; xx < Math.min(end, x + letter); xx++) {
          // Letters are strokes, not blocks: keep about half of each cell.
          if (((xx - x) * 7 + (yy - y) * 3 + l) % 3 === 0) continue;
          const d = (yy * S + xx) * 3;
          for (let c = 0; c < 3; c++) v[d + c] = colour[c]!;
        }
      x += letter + 1 + (rng.uniform() < 0.2 ? letter : 0);
    }
  }
}

/** Shrinks the view to 55-90% of its side inside a border of one random colour. */
export function addBorder(v: Float32Array, S: number, rng: Rng): void {
  const inner = Math.max(4, Math.round(S * (0.55 + 0.35 * rng.uniform())));
  const x0 = Math.floor(rng.uniform() * (S - inner + 1));
  const y0 = Math.floor(rng.uniform() * (S - inner + 1));
  const src = v.slice();
  const colour = [rng.uniform(), rng.uniform(), rng.uniform()];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const d = (y * S + x) * 3;
      const ix = x - x0;
      const iy = y - y0;
      if (ix < 0 || iy < 0 || ix >= inner || iy >= inner) {
        for (let c = 0; c < 3; c++) v[d + c] = colour[c]!;
        continue;
      }
      const sx = Math.min(S - 1, Math.floor(((ix + 0.5) * S) / inner));
      const sy = Math.min(S - 1, Math.floor(((iy + 0.5) * S) / inner));
      const s = (sy * S + sx) * 3;
      for (let c = 0; c < 3; c++) v[d + c] = src[s + c]!;
    }
}

/** Rec. 601 luma in all three channels. */
export function greyscale(v: Float32Array): void {
  for (let i = 0; i < v.length; i += 3) {
    const g = 0.299 * v[i]! + 0.587 * v[i + 1]! + 0.114 * v[i + 2]!;
    v[i] = v[i + 1] = v[i + 2] = g;
  }
}

/** Separable Gaussian blur of standard deviation `sigma` pixels (edges clamped). */
export function gaussianBlur(v: Float32Array, S: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2.5 * sigma));
  const k = Array.from({ length: 2 * r + 1 }, (_, i) =>
    Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)),
  );
  const sum = k.reduce((a, b) => a + b, 0);
  const w = k.map((x) => x / sum);
  const tmp = new Float32Array(v.length);
  const pass = (from: Float32Array, to: Float32Array, dx: number, dy: number) => {
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          for (let t = -r; t <= r; t++) {
            const xx = Math.min(S - 1, Math.max(0, x + t * dx));
            const yy = Math.min(S - 1, Math.max(0, y + t * dy));
            acc += w[t + r]! * from[(yy * S + xx) * 3 + c]!;
          }
          to[(y * S + x) * 3 + c] = acc;
        }
  };
  pass(v, tmp, 1, 0);
  pass(tmp, v, 0, 1);
}

/** Box-downscales by `factor` (2-4) and scales back up by nearest neighbour: lost detail. */
export function downscale(v: Float32Array, S: number, factor: number): void {
  const f = Math.max(1, Math.floor(factor));
  const n = Math.ceil(S / f);
  const small = new Float32Array(n * n * 3);
  const count = new Float32Array(n * n);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const j = Math.floor(y / f) * n + Math.floor(x / f);
      count[j]!++;
      for (let c = 0; c < 3; c++) small[j * 3 + c]! += v[(y * S + x) * 3 + c]!;
    }
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const j = Math.floor(y / f) * n + Math.floor(x / f);
      for (let c = 0; c < 3; c++) v[(y * S + x) * 3 + c] = small[j * 3 + c]! / count[j]!;
    }
}

// JPEG's luminance and chrominance quantisation tables (ITU-T T.81, Annex K).
const Q_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
  92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const Q_CHROMA = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
  47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];
const COS = Array.from({ length: 64 }, (_, i) => {
  const x = i >> 3;
  const u = i & 7;
  return (u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
});

/**
 * JPEG's lossy core at quality `q` (1-100): YCbCr, 8x8 DCT, quantisation with the standard
 * tables scaled as libjpeg scales them, inverse DCT. Without chroma subsampling or entropy
 * coding, which lose nothing more. S must be a multiple of 8.
 */
export function jpegArtifacts(v: Float32Array, S: number, q: number): void {
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const table = (base: number[]) =>
    base.map((b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
  const tables = [table(Q_LUMA), table(Q_CHROMA), table(Q_CHROMA)];
  const ycc = new Float32Array(v.length);
  for (let i = 0; i < v.length; i += 3) {
    const r = v[i]! * 255;
    const g = v[i + 1]! * 255;
    const b = v[i + 2]! * 255;
    ycc[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;
    ycc[i + 1] = -0.168736 * r - 0.331264 * g + 0.5 * b;
    ycc[i + 2] = 0.5 * r - 0.418688 * g - 0.081312 * b;
  }
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  // Separable 2-D DCT-II / DCT-III: rows, then columns (COS[x * 8 + u] = c(u) cos((2x+1)uπ/16)).
  const dct = (from: Float64Array, to: Float64Array, inverse: boolean, rows: boolean) => {
    for (let a = 0; a < 8; a++)
      for (let b = 0; b < 8; b++) {
        let s = 0;
        for (let t = 0; t < 8; t++) {
          const x = rows ? from[a * 8 + t]! : from[t * 8 + a]!;
          s += x * (inverse ? COS[b * 8 + t]! : COS[t * 8 + b]!);
        }
        to[rows ? a * 8 + b : b * 8 + a] = s / 2;
      }
  };
  for (let by = 0; by < S; by += 8)
    for (let bx = 0; bx < S; bx += 8)
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 8; x++) block[y * 8 + x] = ycc[((by + y) * S + bx + x) * 3 + c]!;
        dct(block, tmp, false, true);
        dct(tmp, block, false, false);
        const t = tables[c]!;
        for (let k = 0; k < 64; k++) block[k] = Math.round(block[k]! / t[k]!) * t[k]!;
        dct(block, tmp, true, true);
        dct(tmp, block, true, false);
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 8; x++) ycc[((by + y) * S + bx + x) * 3 + c] = block[y * 8 + x]!;
      }
  for (let i = 0; i < v.length; i += 3) {
    const y = ycc[i]! + 128;
    const cb = ycc[i + 1]!;
    const cr = ycc[i + 2]!;
    const clamp = (x: number) => Math.min(1, Math.max(0, x / 255));
    v[i] = clamp(y + 1.402 * cr);
    v[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    v[i + 2] = clamp(y + 1.772 * cb);
  }
}

/**
 * Procedural scenes: the corpus's real photos are few, so these composites add scene-like
 * images to tell apart: a background (a training texture or photo, a gradient, or smooth noise)
 * with one to five objects (emoji, icons, flags, clip art cut out of their white ground) and
 * plain shapes on top. Built only from the training split of the other sources, seeded by index.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../../util/sharp.js';
import { imageAt } from '../image-set.js';
import { Rng } from '../../util/rng.js';
import { loadCorpus, rasterisedSources } from './load.js';
import { corpusDir, sourceDone, type CorpusEntry } from './manifest.js';
import { rasterCorpus } from './raster.js';
import type { CorpusSource } from './source.js';

export const PROCEDURAL_SOURCE = 'procedural';
const COUNT = 6000;
const SIDE = 96;
const BACKGROUND_KINDS = new Set(['photo', 'texture']);

type Rgb = [number, number, number];

function gradient(out: Float32Array, S: number, rng: Rng) {
  const a: Rgb = [rng.uniform(), rng.uniform(), rng.uniform()];
  const b: Rgb = [rng.uniform(), rng.uniform(), rng.uniform()];
  const radial = rng.uniform() < 0.4;
  const angle = rng.uniform() * Math.PI * 2;
  const [cx, cy] = [rng.uniform() * S, rng.uniform() * S];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const t = radial
        ? Math.min(1, Math.hypot(x - cx, y - cy) / S)
        : 0.5 + ((x - S / 2) * Math.cos(angle) + (y - S / 2) * Math.sin(angle)) / S;
      for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = a[c]! + (b[c]! - a[c]!) * t;
    }
}

/** Smooth value noise: a coarse random grid, bilinearly upsampled, in two colours. */
function noise(out: Float32Array, S: number, rng: Rng) {
  const g = 3 + rng.int(6);
  const grid = Float32Array.from({ length: (g + 1) * (g + 1) }, () => rng.uniform());
  const a: Rgb = [rng.uniform(), rng.uniform(), rng.uniform()];
  const b: Rgb = [rng.uniform(), rng.uniform(), rng.uniform()];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const fx = (x / S) * g;
      const fy = (y / S) * g;
      const [ix, iy] = [Math.floor(fx), Math.floor(fy)];
      const [wx, wy] = [fx - ix, fy - iy];
      const at = (i: number, j: number) => grid[j * (g + 1) + i]!;
      const t =
        (1 - wy) * ((1 - wx) * at(ix, iy) + wx * at(ix + 1, iy)) +
        wy * ((1 - wx) * at(ix, iy + 1) + wx * at(ix + 1, iy + 1));
      for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = a[c]! + (b[c]! - a[c]!) * t;
    }
}

/** Pastes `img` ([src, src, 3] bytes on white) scaled to `side` at (x0, y0), white keyed out. */
function pasteCutout(
  out: Float32Array,
  S: number,
  img: Uint8Array,
  src: number,
  side: number,
  x0: number,
  y0: number,
) {
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const [X, Y] = [x0 + x, y0 + y];
      if (X < 0 || Y < 0 || X >= S || Y >= S) continue;
      const s = (Math.floor((y * src) / side) * src + Math.floor((x * src) / side)) * 3;
      const [r, g, b] = [img[s]!, img[s + 1]!, img[s + 2]!];
      if (r > 240 && g > 240 && b > 240) continue; // the white ground
      const d = (Y * S + X) * 3;
      out[d] = r / 255;
      out[d + 1] = g / 255;
      out[d + 2] = b / 255;
    }
}

function shape(out: Float32Array, S: number, rng: Rng) {
  const col: Rgb = [rng.uniform(), rng.uniform(), rng.uniform()];
  const [cx, cy] = [rng.uniform() * S, rng.uniform() * S];
  const r = S * (0.05 + 0.2 * rng.uniform());
  const kind = rng.int(3);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const [dx, dy] = [x - cx, y - cy];
      const inside =
        kind === 0
          ? dx * dx + dy * dy < r * r
          : kind === 1
            ? Math.abs(dx) < r && Math.abs(dy) < r * 0.6
            : dy < r && dy > -r && Math.abs(dx) < (r - dy) / 2;
      if (inside) for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = col[c]!;
    }
}

export const proceduralSource: CorpusSource = {
  name: PROCEDURAL_SOURCE,
  group: 'procedural',
  async fetch(dir, log) {
    const fetched = readdirSync(corpusDir()).filter(
      (s) => s !== PROCEDURAL_SOURCE && sourceDone(s),
    );
    await rasterCorpus(fetched, { log });
    const sources = rasterisedSources().filter((s) => s !== PROCEDURAL_SOURCE);
    const set = loadCorpus('train', { sources });
    const backgrounds = set.entries.flatMap((e, i) => (BACKGROUND_KINDS.has(e.kind) ? [i] : []));
    const objects = set.entries.flatMap((e, i) => (BACKGROUND_KINDS.has(e.kind) ? [] : [i]));
    if (objects.length === 0)
      throw new Error('procedural scenes need the drawn sets rasterised first (--corpus drawn)');
    const S = SIDE;
    const entries: CorpusEntry[] = [];
    for (let i = 0; i < COUNT; i++) {
      const rng = new Rng(0x5eed + i);
      const img = new Float32Array(S * S * 3);
      const bg = rng.uniform();
      if (bg < 0.6 && backgrounds.length > 0) {
        const px = imageAt(set, backgrounds[rng.int(backgrounds.length)]!);
        for (let k = 0; k < img.length; k++) img[k] = px[k]! / 255;
      } else if (bg < 0.85) gradient(img, S, rng);
      else noise(img, S, rng);
      const n = 1 + rng.int(5);
      for (let k = 0; k < n; k++) {
        if (rng.uniform() < 0.25) shape(img, S, rng);
        const side = Math.round(S * (0.15 + 0.45 * rng.uniform()));
        const x0 = Math.floor(rng.uniform() * S) - (side >> 1);
        const y0 = Math.floor(rng.uniform() * S) - (side >> 1);
        pasteCutout(
          img,
          S,
          imageAt(set, objects[rng.int(objects.length)]!),
          set.size,
          side,
          x0,
          y0,
        );
      }
      const file = `scene-${String(i).padStart(5, '0')}.png`;
      const bytes = Buffer.from(
        Uint8Array.from(img, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
      );
      writeFileSync(
        join(dir, file),
        await sharp(bytes, { raw: { width: S, height: S, channels: 3 } })
          .png()
          .toBuffer(),
      );
      entries.push({
        file,
        source: PROCEDURAL_SOURCE,
        kind: 'drawing',
        style: 'procedural',
        key: null,
        category: null,
        licence: 'mixed',
      });
      if ((i + 1) % 1000 === 0) log(`  procedural: ${i + 1}/${COUNT}`);
    }
    return {
      info: {
        packages: sources.map((s) => `corpus:${s}`),
        licence: 'derived from the sources it composes (see their entries)',
        credit: 'composites of the training split of the other corpus sources',
      },
      entries,
    };
  },
};

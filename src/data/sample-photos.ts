/**
 * Real photographs for the demo library, beside the sample emoji: whole GCompris photos (a source
 * the general model never trains on, holdout.ts), spread over its subject folders, downscaled to
 * at most 480 px so the repository stays small. A few get an edited copy (crop, greyscale, flip,
 * overlay) so searching the demo by example shows near-duplicate finding as well as similarity.
 * Rebuilt with `matsearch data --samples DIR --photos N`; every file's licence is listed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sharp } from 'sharp';
import sharp from '../util/sharp.js';
import { Rng } from '../util/rng.js';
import { corpusDir, readManifest, type CorpusEntry } from './corpus/manifest.js';
import { dataDir } from './paths.js';

const SOURCE = 'gcompris-qt-data';
const MAX_SIDE = 480;

export interface SamplePhoto {
  readonly name: string;
  readonly from: string;
  readonly licence: string;
  /** What was done to the original, for an edited copy; null for the downscaled original. */
  readonly edit: string | null;
}

/** `count` whole photos, round-robin over categories in a seeded order (so each subject shows). */
export function pickSamplePhotos(entries: readonly CorpusEntry[], count: number, seed = 1) {
  const whole = entries.filter((e) => e.kind === 'photo' && e.key === null && e.category);
  const byCat = new Map<string, CorpusEntry[]>();
  for (const e of [...whole].sort((a, b) => a.file.localeCompare(b.file)))
    byCat.set(e.category!, [...(byCat.get(e.category!) ?? []), e]);
  const rng = new Rng(seed);
  const queues = [...byCat.keys()].sort().map((c) => rng.shuffle([...byCat.get(c)!]));
  const out: CorpusEntry[] = [];
  while (out.length < count && queues.some((q) => q.length > 0))
    for (const q of queues) if (out.length < count && q.length > 0) out.push(q.shift()!);
  return out;
}

type Edit = { label: string; apply: (s: Sharp, w: number, h: number) => Sharp };

const EDITS: readonly Edit[] = [
  {
    label: 'centre crop to 60% of each side',
    apply: (s, w, h) =>
      s.extract({
        left: Math.round(w * 0.2),
        top: Math.round(h * 0.2),
        width: Math.round(w * 0.6),
        height: Math.round(h * 0.6),
      }),
  },
  { label: 'greyscale', apply: (s) => s.greyscale() },
  { label: 'mirrored', apply: (s) => s.flop() },
  { label: 'rotated 90 degrees', apply: (s) => s.rotate(90) },
  {
    label: 'caption bar overlaid',
    apply: (s, w, h) =>
      s.composite([
        {
          input: Buffer.from(
            `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
              `<rect x="0" y="${Math.round(h * 0.78)}" width="${w}" height="${Math.round(h * 0.22)}" fill="#000" fill-opacity="0.6"/>` +
              `<text x="${Math.round(w * 0.05)}" y="${Math.round(h * 0.93)}" font-size="${Math.round(h * 0.12)}" fill="#fff" font-family="sans-serif">matsearch</text></svg>`,
          ),
        },
      ]),
  },
];

/**
 * Writes the photos into `outDir` (replaced) and returns what it wrote. `edits` of them, evenly
 * spaced, also get an edited copy named `<name>.edit.jpg`.
 */
export async function writeSamplePhotos(
  outDir: string,
  count = 40,
  edits = 10,
  root = dataDir(),
): Promise<SamplePhoto[]> {
  const entries = readManifest(SOURCE, root);
  const picked = pickSamplePhotos(entries, count);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const written: SamplePhoto[] = [];
  const used = new Set<string>();
  for (const [i, e] of picked.entries()) {
    const stem = e.file
      .split('/')
      .pop()!
      .replace(/\.[^.]+$/, '')
      .replace(/[^a-z0-9_+-]/gi, '_')
      .toLowerCase();
    let name = `${e.category}-${stem}`;
    while (used.has(name)) name += '_';
    used.add(name);
    const src = join(corpusDir(root), SOURCE, e.file);
    const small = await sharp(src)
      .rotate()
      .resize(MAX_SIDE, MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 82 })
      .toBuffer({ resolveWithObject: true });
    writeFileSync(join(outDir, `${name}.jpg`), small.data);
    written.push({ name: `${name}.jpg`, from: e.file, licence: e.licence, edit: null });
    const every = Math.max(1, Math.floor(picked.length / Math.max(1, edits)));
    if (edits > 0 && i % every === 0 && i / every < edits) {
      const edit = EDITS[(i / every) % EDITS.length]!;
      const { width, height } = small.info;
      const out = await edit
        .apply(sharp(small.data), width, height)
        .jpeg({ quality: 70 })
        .toBuffer();
      writeFileSync(join(outDir, `${name}.edit.jpg`), out);
      written.push({
        name: `${name}.edit.jpg`,
        from: e.file,
        licence: e.licence,
        edit: edit.label,
      });
    }
  }
  return written;
}

/** The ATTRIBUTION.md section for the photos. */
export function samplePhotosAttribution(dir: string, photos: readonly SamplePhoto[]): string[] {
  const originals = photos.filter((p) => p.edit === null).length;
  return [
    `- \`${dir}/\`: ${originals} photographs from the Debian package \`${SOURCE}\` (GCompris, whose`,
    '  photos the general model never trains on), downscaled to at most 480 px and re-encoded as',
    `  JPEG; ${photos.length - originals} of them also as an edited copy (\`*.edit.jpg\`). Each file, its`,
    "  original in the package and its licence (from the package's debian/copyright):",
    '',
    '  | file | original | licence | edit |',
    '  | --- | --- | --- | --- |',
    ...photos.map((p) => `  | ${p.name} | ${p.from} | ${p.licence} | ${p.edit ?? ''} |`),
  ];
}

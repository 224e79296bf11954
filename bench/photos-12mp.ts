/**
 * Realistic 12 MP test photos for the ingest bench: real photographs from Debian packages (the
 * photo corpus, `npx matsearch data --corpus photos`; credits in docs/DATA.md) upscaled to
 * 4000x3000 and saved as baseline JPEG at quality 90, as a camera would. A source used again
 * gives another zoom, crop and mirror, so every file has its own content.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { NotFoundError } from '../src/errors.js';
import { dataDir } from '../src/data/paths.js';

/** Packages of the photo corpus whose JPEGs are photographs. */
const PHOTO_PACKAGES = ['opencv-doc', 'fotoxx-common', 'enlightenment-data', 'lxqt-themes'];
const SIDE = { width: 4000, height: 3000 };
/** Where a repeated source's crop sits (fraction of the spare width). */
const OFFSETS = [0.5, 0, 1, 0.25, 0.75];

/** JPEG photographs of at least 300 px a side under the corpus folder, sorted. */
async function sources(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.jpe?g$/i.test(e.name) && statSync(p).size > 30_000) out.push(p);
    }
  };
  for (const pkg of PHOTO_PACKAGES) if (existsSync(join(root, pkg))) walk(join(root, pkg));
  const big: string[] = [];
  for (const p of out.sort()) {
    const m = await sharp(p).metadata();
    if (Math.min(m.width ?? 0, m.height ?? 0) >= 300) big.push(p);
  }
  return big;
}

/**
 * Writes `n` 12 MP JPEGs into `dir` (kept between runs: existing files are reused) and returns
 * their paths and what they came from.
 */
export async function photos12mp(
  dir: string,
  n: number,
): Promise<{ files: string[]; source: string }> {
  const root = join(dataDir(), 'corpus');
  const src = await sources(root);
  if (src.length === 0)
    throw new NotFoundError(
      `no photographs under ${root}; run 'npx matsearch data --corpus photos' (or set MATSEARCH_DATA_DIR)`,
    );
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const out = join(dir, `photo-${String(i).padStart(4, '0')}.jpg`);
    files.push(out);
    if (existsSync(out)) continue;
    // Later rounds zoom in a little further and crop elsewhere: new pixels, not just new bytes.
    const round = Math.floor(i / src.length);
    const zoom = 1 + 0.1 * round;
    const [w, h] = [Math.round(SIDE.width * zoom), Math.round(SIDE.height * zoom)];
    const at = OFFSETS[round % OFFSETS.length]!;
    let img = sharp(src[i % src.length]!)
      .rotate()
      .resize({ width: w, height: h, fit: 'cover' })
      .extract({
        left: Math.floor((w - SIDE.width) * at),
        top: Math.floor((h - SIDE.height) * (1 - at)),
        ...SIDE,
      });
    if (round % 2 === 1) img = img.flop();
    await img.jpeg({ quality: 90, progressive: false }).toFile(out);
  }
  return {
    files,
    source: `${n} JPEGs of 4000x3000 (quality 90), upscaled from ${Math.min(n, src.length)} photographs of ${PHOTO_PACKAGES.join(', ')}`,
  };
}

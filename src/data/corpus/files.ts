/** File helpers shared by the drawn sources: walking unpacked packages, checking SVGs render. */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from '../../util/sharp.js';

/** Regular files under `root` (symlinks skipped: they repeat another file), as relative paths. */
export function walkFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(root, rel));
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) out.push(...walkFiles(root, r));
    else if (st.isFile()) out.push(r);
  }
  return out;
}

/**
 * True when sharp (librsvg) renders the file to a 32 px image that is not blank white or fully
 * transparent: packages hold SVGs librsvg rejects and ones that draw nothing visible.
 */
export async function rendersVisibly(path: string): Promise<boolean> {
  try {
    const { data } = await sharp(path, { density: 72 })
      .resize(32, 32, { fit: 'inside' })
      .flatten({ background: '#ffffff' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    let sum = 0;
    for (const v of data) sum += v;
    return sum / data.length < 254.5;
  } catch {
    return false;
  }
}

/** Keeps the items whose file renders (see rendersVisibly), checking `width` at a time. */
export async function keepRenderable<T>(
  items: readonly T[],
  pathOf: (it: T) => string,
  width = 4,
): Promise<T[]> {
  const ok: boolean[] = new Array<boolean>(items.length).fill(false);
  for (let i = 0; i < items.length; i += width) {
    const batch = items.slice(i, i + width);
    const res = await Promise.all(
      batch.map((it) =>
        pathOf(it).endsWith('.svg') ? rendersVisibly(pathOf(it)) : Promise.resolve(true),
      ),
    );
    res.forEach((r, j) => (ok[i + j] = r));
  }
  return items.filter((_, i) => ok[i]);
}

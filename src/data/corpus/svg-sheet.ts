/**
 * Cutting one element out of an SVG sheet (a card deck or chess set drawn as one document with
 * an id per card or piece). librsvg through sharp cannot report an element's box, so the sheet is
 * rendered with every other named element hidden and cropped to what is left visible.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import sharp from '../../util/sharp.js';

/** The text of an .svg or gzipped .svgz file. */
export function readSvgText(path: string): string {
  const buf = readFileSync(path);
  return (buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf) : buf).toString('utf8');
}

/** Which of `ids` the document defines. */
export function presentIds(svg: string, ids: readonly string[]): Set<string> {
  const defined = new Set<string>();
  for (const m of svg.matchAll(/\bid\s*=\s*["']([^"']+)["']/g)) defined.add(m[1] as string);
  return new Set(ids.filter((id) => defined.has(id)));
}

/**
 * The document with a stylesheet hiding the elements `hide` (attribute selectors, since ids such
 * as '1_club' are not valid CSS id selectors).
 */
export function withHidden(svg: string, hide: readonly string[]): string {
  const open = /<svg\b[^>]*>/.exec(svg);
  if (!open || hide.length === 0) return svg;
  const sel = hide.map((id) => `[id="${id.replace(/["\\]/g, '\\$&')}"]`).join(',');
  const at = open.index + open[0].length;
  return `${svg.slice(0, at)}<style>${sel}{display:none !important}</style>${svg.slice(at)}`;
}

/**
 * The document showing only the element `id` and what it contains, for sheets that also draw a
 * board or background outside any named element. Visibility, unlike display, lets a child be
 * shown inside a hidden parent; content the element pulls in by `<use>` stays hidden, so sheets
 * built that way need withHidden instead.
 */
export function withOnly(svg: string, id: string): string {
  const open = /<svg\b[^>]*>/.exec(svg);
  if (!open) return svg;
  const sel = `[id="${id.replace(/["\\]/g, '\\$&')}"]`;
  const at = open.index + open[0].length;
  const style = `<style>*{visibility:hidden !important}${sel},${sel} *{visibility:visible !important}</style>`;
  return `${svg.slice(0, at)}${style}${svg.slice(at)}`;
}

/** Box of the pixels with alpha above `minAlpha` in RGBA data, or null when none are. */
export function alphaBox(
  data: Uint8Array,
  width: number,
  height: number,
  minAlpha = 8,
): { left: number; top: number; width: number; height: number } | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((data[(y * width + x) * 4 + 3] as number) > minAlpha) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  return x1 < 0 ? null : { left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * PNG of the sheet showing `keep` alone, cropped to its visible pixels; null when nothing is
 * visible or librsvg fails. 'hide-others' hides the other named elements `all` (withHidden),
 * 'only' hides everything else (withOnly). `density` sets the render scale.
 */
export async function renderElement(
  svg: string,
  keep: string,
  all: readonly string[],
  density: number,
  mode: 'hide-others' | 'only' = 'hide-others',
): Promise<{ png: Buffer; width: number; height: number } | null> {
  try {
    const doc =
      mode === 'only'
        ? withOnly(svg, keep)
        : withHidden(
            svg,
            all.filter((id) => id !== keep),
          );
    const { data, info } = await sharp(Buffer.from(doc), { density, unlimited: true })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const box = alphaBox(data, info.width, info.height);
    if (!box) return null;
    const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
      .extract(box)
      .png()
      .toBuffer();
    return { png, width: box.width, height: box.height };
  } catch {
    return null;
  }
}

/** Indices of the sizes within `tolerance` of the median: cut-outs that caught stray artwork go. */
export function typicalSizes(
  sizes: readonly { width: number; height: number }[],
  tolerance = 0.08,
): number[] {
  const med = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  const mw = med(sizes.map((s) => s.width));
  const mh = med(sizes.map((s) => s.height));
  return sizes
    .map((s, i) => ({ s, i }))
    .filter(
      ({ s }) =>
        Math.abs(s.width - mw) <= tolerance * mw && Math.abs(s.height - mh) <= tolerance * mh,
    )
    .map(({ i }) => i);
}

/**
 * Iconify JSON icon sets (npm `@iconify-json/NAME`): one `icons.json` holding every icon as an
 * SVG body plus its box, `aliases` that reuse a parent (possibly flipped or rotated), and for
 * emoji sets a `chars.json` mapping code points to icon names. Format:
 * https://iconify.design/docs/types/iconify-json.html
 */
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unpackNpm } from '../fetch.js';

export interface IconifyIcon {
  readonly body: string;
  readonly width?: number;
  readonly height?: number;
  readonly left?: number;
  readonly top?: number;
  readonly hFlip?: boolean;
  readonly vFlip?: boolean;
  /** Quarter turns clockwise. */
  readonly rotate?: number;
}

export interface IconifyAlias extends Partial<IconifyIcon> {
  readonly parent: string;
}

export interface IconifyJson {
  readonly prefix: string;
  readonly icons: Readonly<Record<string, IconifyIcon>>;
  readonly aliases?: Readonly<Record<string, IconifyAlias>>;
  /** Defaults for icons that omit them (16 x 16 at 0, 0 when the set omits them too). */
  readonly width?: number;
  readonly height?: number;
  readonly left?: number;
  readonly top?: number;
}

export interface IconifyInfo {
  readonly name?: string;
  readonly author?: { readonly name?: string; readonly url?: string };
  readonly license?: { readonly title?: string; readonly spdx?: string };
}

export interface IconifySet {
  readonly json: IconifyJson;
  /** Code point(s) ('1f9d1-200d-1f3a8') to icon name; empty for non-emoji sets. */
  readonly chars: Readonly<Record<string, string>>;
  readonly info: IconifyInfo;
  /** 'npm:@iconify-json/noto@1.2.9'. */
  readonly pkg: string;
}

/** A resolved icon: every box field filled, transforms summed along the alias chain. */
export interface ResolvedIcon {
  readonly body: string;
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly hFlip: boolean;
  readonly vFlip: boolean;
  readonly rotate: number;
}

const MAX_ALIAS_DEPTH = 8;

function hasTransform(a: Partial<IconifyIcon>): boolean {
  return a.hFlip === true || a.vFlip === true || (a.rotate ?? 0) % 4 !== 0;
}

/** Follows aliases to an icon. Flips toggle and rotations add along the chain. null if unknown. */
export function resolveIcon(set: IconifyJson, name: string): ResolvedIcon | null {
  const chain: Partial<IconifyIcon>[] = [];
  let cur = name;
  for (let depth = 0; depth <= MAX_ALIAS_DEPTH; depth++) {
    const icon = set.icons[cur];
    if (icon) {
      // The icon's own fields, then each alias outward overriding box fields.
      let r: ResolvedIcon = {
        body: icon.body,
        width: icon.width ?? set.width ?? 16,
        height: icon.height ?? set.height ?? 16,
        left: icon.left ?? set.left ?? 0,
        top: icon.top ?? set.top ?? 0,
        hFlip: icon.hFlip === true,
        vFlip: icon.vFlip === true,
        rotate: icon.rotate ?? 0,
      };
      for (const a of chain.reverse())
        r = {
          ...r,
          width: a.width ?? r.width,
          height: a.height ?? r.height,
          left: a.left ?? r.left,
          top: a.top ?? r.top,
          hFlip: r.hFlip !== (a.hFlip === true),
          vFlip: r.vFlip !== (a.vFlip === true),
          rotate: (r.rotate + (a.rotate ?? 0)) % 4,
        };
      return r;
    }
    const alias = set.aliases?.[cur];
    if (!alias) return null;
    chain.push(alias);
    cur = alias.parent;
  }
  return null;
}

/**
 * The icon named `name` with any chain of untransformed aliases stripped off: an alias without a
 * flip or rotation draws exactly its parent, so it is the same image under another name.
 */
export function plainRoot(set: IconifyJson, name: string): string {
  let cur = name;
  for (let depth = 0; depth < MAX_ALIAS_DEPTH; depth++) {
    const a = set.aliases?.[cur];
    if (!a || hasTransform(a) || a.width !== undefined || a.height !== undefined) return cur;
    cur = a.parent;
  }
  return cur;
}

/** Names that draw distinct images: every icon, and aliases that flip, rotate or recrop. */
export function distinctNames(set: IconifyJson): string[] {
  const out = Object.keys(set.icons);
  for (const name of Object.keys(set.aliases ?? {}))
    if (plainRoot(set, name) === name && resolveIcon(set, name)) out.push(name);
  return out.sort();
}

/** Longest side of the written SVG in user units; the rasteriser renders at density 300. */
export const SVG_SIDE = 128;

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/**
 * A standalone SVG document for an icon, its larger side scaled to `side` so that small 16-unit
 * sets render as large as 512-unit ones. Flips mirror about the box; odd quarter turns swap the box.
 */
export function iconToSvg(icon: ResolvedIcon, side = SVG_SIDE): string {
  const { left: l, top: t, width: w, height: h } = icon;
  const cx = l + w / 2;
  const cy = t + h / 2;
  const transforms: string[] = [];
  const turns = ((icon.rotate % 4) + 4) % 4;
  if (turns !== 0) transforms.push(`rotate(${turns * 90} ${fmt(cx)} ${fmt(cy)})`);
  if (icon.hFlip) transforms.push(`translate(${fmt(2 * l + w)} 0) scale(-1 1)`);
  if (icon.vFlip) transforms.push(`translate(0 ${fmt(2 * t + h)}) scale(1 -1)`);
  const body = transforms.length
    ? `<g transform="${transforms.join(' ')}">${icon.body}</g>`
    : icon.body;
  const [bw, bh] = turns % 2 === 1 ? [h, w] : [w, h];
  const scale = side / Math.max(bw, bh);
  const box = [cx - bw / 2, cy - bh / 2, bw, bh].map(fmt).join(' ');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `width="${fmt(bw * scale)}" height="${fmt(bh * scale)}" viewBox="${box}">${body}</svg>`
  );
}

/**
 * The exact release of every Iconify set the corpus uses, so a later fetch rebuilds the same
 * images (a training run resumed on another machine must see the same data).
 */
export const ICONIFY_VERSIONS: Readonly<Record<string, string>> = {
  cif: '1.2.7',
  devicon: '1.2.68',
  flagpack: '1.2.8',
  'flat-color-icons': '1.2.3',
  fxemoji: '1.2.2',
  'icon-park': '1.2.4',
  logos: '1.2.19',
  lucide: '1.2.137',
  'material-symbols': '1.2.98',
  mdi: '1.2.3',
  'noto-v1': '1.2.5',
  noto: '1.2.9',
  openmoji: '1.2.29',
  ph: '1.2.2',
  'skill-icons': '1.2.4',
  'streamline-color': '1.2.2',
  'streamline-emojis': '1.2.4',
  tabler: '1.2.41',
  twemoji: '1.2.5',
  'vscode-icons': '1.2.97',
};

/** Fetches `@iconify-json/<name>` into `work/<name>`, reads it and deletes the unpacked files. */
export function loadIconifySet(name: string, work: string): IconifySet {
  const dest = join(work, `iconify-${name}`);
  const pinned = ICONIFY_VERSIONS[name];
  if (!pinned)
    throw new Error(`no pinned version for @iconify-json/${name}: add it to ICONIFY_VERSIONS`);
  const spec = `@iconify-json/${name}@${pinned}`;
  const version = unpackNpm(spec, dest);
  const read = (file: string): unknown =>
    existsSync(join(dest, file)) ? JSON.parse(readFileSync(join(dest, file), 'utf8')) : {};
  const set: IconifySet = {
    json: read('icons.json') as IconifyJson,
    chars: read('chars.json') as Record<string, string>,
    info: read('info.json') as IconifyInfo,
    pkg: `npm:${spec}@${version}`,
  };
  rmSync(dest, { recursive: true, force: true });
  return set;
}

export function setLicence(set: IconifySet): string {
  return set.info.license?.spdx ?? set.info.license?.title ?? 'unknown';
}

export function setCredit(set: IconifySet): string {
  const who = set.info.author?.name ?? 'unknown';
  return `${set.info.name ?? set.json.prefix} by ${who}`;
}

/**
 * Cross-style identity: how the same thing is recognised in sets that name it differently, and
 * the rule that a key is kept only when enough styles draw it (a key drawn once is no positive).
 */

/** 'emoji:1f9d1-200d-1f3a8' from '1F9D1-200D-1F3A8' or '1f9d1_200d_1f3a8'; FE0F selectors dropped. */
export function emojiKey(codepoints: string): string {
  const parts = codepoints
    .toLowerCase()
    .split(/[-_\s]+/)
    .filter((p) => p !== '' && p !== 'fe0f')
    .map((p) => p.replace(/^0+(?=.)/, ''));
  return `emoji:${parts.join('-')}`;
}

/**
 * Icon name -> code points from a set's chars.json (code points -> name). When several code
 * points name one icon, the shortest (then first in order) wins, so the key is the plain form.
 * `root` maps a name to the icon it draws (aliases to their parent).
 */
export function invertChars(
  chars: Readonly<Record<string, string>>,
  root: (name: string) => string = (n) => n,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const cp of Object.keys(chars).sort()) {
    const name = root(chars[cp] as string);
    const had = out.get(name);
    if (had === undefined || cp.length < had.length) out.set(name, cp);
  }
  return out;
}

/** fxemoji writes names without separators ('grinningface'); others use hyphens. */
export function dehyphen(name: string): string {
  return name.replace(/-/g, '');
}

/**
 * Names in `names` matched to code points through `byName` (name -> code points from the
 * reference sets): exactly when `loose` is false, else after removing hyphens on both sides.
 */
export function matchByName(
  names: readonly string[],
  byName: ReadonlyMap<string, string>,
  loose: boolean,
): Map<string, string> {
  const index = new Map<string, string>();
  for (const [n, cp] of byName) {
    const k = loose ? dehyphen(n) : n;
    if (!index.has(k)) index.set(k, cp);
  }
  const out = new Map<string, string>();
  for (const n of names) {
    const cp = index.get(loose ? dehyphen(n) : n);
    if (cp !== undefined) out.set(n, cp);
  }
  return out;
}

/** Weight and variant suffixes that draw the same concept again in one set. */
const VARIANT_SUFFIXES = [
  'symbolic',
  'outline',
  'outlined',
  'rounded',
  'sharp',
  'filled',
  'fill',
  'solid',
  'line',
  'bold',
  'light',
  'thin',
  'duotone',
  'twotone',
  'regular',
];

/** Icon name for cross-set matching: lower case, '_' and spaces as single hyphens. */
export function normaliseIconName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[_\s]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The names of a set that are not weight or variant copies of another of its names: 'home-outline'
 * goes when 'home' is there, while 'format-bold' stays when there is no 'format'.
 */
export function baseNames(names: readonly string[]): string[] {
  const all = new Set(names);
  const isVariant = (n: string): boolean =>
    VARIANT_SUFFIXES.some((s) => {
      if (!n.endsWith(`-${s}`)) return false;
      const base = n.slice(0, -s.length - 1);
      return all.has(base) || isVariant(base);
    });
  return names.filter((n) => !isVariant(n));
}

/** Logo names across sets: 'file-type-reactjs' (vscode-icons), 'react-dark', 'nodejs-icon'. */
export function normaliseLogoName(name: string): string {
  let n = normaliseIconName(name).replace(/^(file-type|folder-type)-/, '');
  for (;;) {
    const m = /-(icon|dark|light|wordmark|original|plain|colored|color|logo|js)$/.exec(n);
    if (!m || m.index === 0) break;
    n = n.slice(0, m.index);
  }
  return n.replace(/js$/, '') || n;
}

export interface Keyed {
  readonly key: string | null;
  readonly style: string;
}

/** key -> number of distinct styles drawing it. */
export function styleCounts(items: readonly Keyed[]): Map<string, number> {
  const styles = new Map<string, Set<string>>();
  for (const it of items) {
    if (it.key === null) continue;
    let s = styles.get(it.key);
    if (!s) styles.set(it.key, (s = new Set()));
    s.add(it.style);
  }
  return new Map([...styles].map(([k, s]) => [k, s.size]));
}

/** Only items whose key is drawn by at least `min` styles. */
export function keepShared<T extends Keyed>(items: readonly T[], min = 3): T[] {
  const counts = styleCounts(items);
  return items.filter((it) => it.key !== null && (counts.get(it.key) ?? 0) >= min);
}

/**
 * Caps a keyed family at `maxImages` images and `maxKeys` keys: keys drawn by the most styles
 * first (ties by key), whole keys at a time, so every kept key keeps all its styles.
 */
export function capByKeys<T extends Keyed>(
  items: readonly T[],
  maxImages: number,
  maxKeys = Infinity,
): T[] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    if (it.key === null) continue;
    const g = groups.get(it.key);
    if (g) g.push(it);
    else groups.set(it.key, [it]);
  }
  const order = [...groups].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const out: T[] = [];
  for (const [, g] of order.slice(0, maxKeys)) {
    if (out.length + g.length > maxImages) break;
    out.push(...g);
  }
  return out;
}

/** Number of keys drawn by at least `min` styles. */
export function sharedKeyCount(items: readonly Keyed[], min = 3): number {
  return [...styleCounts(items).values()].filter((n) => n >= min).length;
}

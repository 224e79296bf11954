/**
 * Per-file licences from a Debian machine-readable copyright file (DEP-5): paragraphs of
 * `Files:` globs (`*` any run of characters including '/', `?` one character) and `License:`.
 * As the format says, the last paragraph whose globs match a path wins. Packages often convert
 * images after the copyright was written (GCompris lists .jpg/.png and ships .webp), so a glob
 * that names an image also matches the same path with any image extension.
 */
export interface Dep5Rule {
  readonly patterns: readonly RegExp[];
  readonly licence: string;
}

const IMAGE_EXT = /\.(jpe?g|png|webp|svgz?|gif|tga|dds)$/i;

function globToRegExp(glob: string): RegExp {
  const stem = glob.replace(IMAGE_EXT, '');
  const imageGlob = stem !== glob;
  const body = stem
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}${imageGlob ? '\\.[a-z]+' : ''}$`, 'i');
}

export function parseDep5(text: string): Dep5Rule[] {
  const rules: Dep5Rule[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of para.split('\n')) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) {
        last = (m[1] as string).toLowerCase();
        fields.set(last, m[2] as string);
      } else if (/^\s/.test(line) && last === 'files')
        fields.set(last, `${fields.get(last) ?? ''} ${line.trim()}`);
    }
    const files = fields.get('files');
    const licence = fields.get('license')?.trim();
    if (!files || !licence) continue;
    rules.push({
      patterns: files
        .split(/\s+/)
        .filter((g) => g !== '')
        .map(globToRegExp),
      licence,
    });
  }
  return rules;
}

/**
 * The licence of `path`, or `fallback` when no rule matches. Copyright files name paths in the
 * source tree, installed files sit deeper ('usr/share/lxqt/wallpapers/x' for 'wallpapers/x'), so
 * a rule also matches any '/'-suffix of the path.
 */
export function licenceFor(rules: readonly Dep5Rule[], path: string, fallback: string): string {
  const parts = path.split('/');
  const suffixes = parts.map((_, i) => parts.slice(i).join('/'));
  let found = fallback;
  for (const r of rules)
    if (r.patterns.some((p) => suffixes.some((s) => p.test(s)))) found = r.licence;
  return found;
}

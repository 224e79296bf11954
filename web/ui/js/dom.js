/** Small DOM helpers and formatters shared by the views. No framework: elements by hand. */

/**
 * Creates an element: h('button', { class: 'x', onclick: fn, 'aria-label': 'y' }, 'text', child).
 * Attributes starting with "on" become listeners; false/null/undefined attributes are skipped.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Milliseconds for people: 0.42, 3.1, 27, 1.2 s. */
export function fmtMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** A duration with its unit: "0.42 ms", "27 ms", "1.2 s" (fmtMs already says seconds). */
export function fmtDuration(ms) {
  const t = fmtMs(ms);
  return t.endsWith(' s') || t === '—' ? t : `${t} ms`;
}

export const fmtScore = (s) => (typeof s === 'number' ? s.toFixed(3) : '—');

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The last two parts of a path ("noto/bagel.png"): enough to tell files apart at a glance. */
export function shortPath(path) {
  if (!path) return '(no path)';
  return path.split(/[\\/]/).filter(Boolean).slice(-2).join('/');
}

export const baseName = (path) => (path ? (path.split(/[\\/]/).pop() ?? path) : 'image');

/**
 * A tile's caption: the folder, then the file name. The file name always shows; when the tile is
 * narrow the folder gives way first, cut from the left, so the end of the path stays readable.
 * The full path is the hover title.
 */
export function pathCaption(path) {
  if (!path) return h('span', { class: 'name' }, '(no path)');
  const parts = path.split(/[\\/]/);
  const file = parts.pop() || path;
  const dir = parts.join('/');
  return h(
    'span',
    { class: 'name', title: path },
    dir ? h('span', { class: 'dir' }, h('span', {}, `${dir}/`)) : null,
    h('span', { class: 'file' }, file),
  );
}

/**
 * One image tile: the whole picture is a button (Enter and Space work as for any button), with a
 * score badge, an optional rank move, and an optional second button for the image's details.
 * @param {{id: number, thumbnail_url: string, path?: string|null, score?: number,
 *   move?: number|'new'|null, pending?: boolean, action: string, onActivate: () => void,
 *   onDetails?: () => void}} o
 */
export function tile(o) {
  const name = shortPath(o.path ?? '');
  const score = typeof o.score === 'number' ? fmtScore(o.score) : null;
  const label = `${name}${score ? `, score ${score}` : ''}. ${o.action}`;
  const move =
    o.move === 'new'
      ? h('span', { class: 'move new', 'aria-hidden': 'true' }, 'new')
      : typeof o.move === 'number' && o.move !== 0
        ? h(
            'span',
            { class: `move ${o.move > 0 ? 'up' : 'down'}`, 'aria-hidden': 'true' },
            `${o.move > 0 ? '▲' : '▼'}${Math.abs(o.move)}`,
          )
        : null;
  return h(
    'li',
    { class: `tile${o.pending ? ' pending' : ''}`, dataset: { id: String(o.id) } },
    h(
      'button',
      {
        type: 'button',
        class: 'tile-main',
        'aria-label': label,
        title: o.path ?? '',
        onclick: o.onActivate,
      },
      h('img', { src: o.thumbnail_url, alt: '', loading: 'lazy', decoding: 'async' }),
      score ? h('span', { class: 'score', 'aria-hidden': 'true' }, score) : null,
      move,
    ),
    h(
      'div',
      { class: 'tile-foot' },
      pathCaption(o.path ?? ''),
      o.onDetails
        ? h(
            'button',
            {
              type: 'button',
              class: 'info',
              'aria-label': `Details and similar images for ${name}`,
              title: 'Details and similar images',
              onclick: o.onDetails,
            },
            h('span', { 'aria-hidden': 'true' }, 'i'),
          )
        : null,
    ),
  );
}

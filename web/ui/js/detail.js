/**
 * One image in a modal dialog: the picture, its metadata, its near duplicates and the images most
 * like it (GET /api/images/:id/similar: its stored vector is the query, nothing is encoded).
 * The native <dialog> traps focus and closes on Escape; focus goes back where it came from.
 */
import * as api from './api.js';
import { $, fmtBytes, fmtScore, h, shortPath, tile } from './dom.js';

/** Scores at or above this count as near duplicates. */
const DUPE_SCORE = 0.95;
const SIMILAR_K = 24;

const state = {
  seq: 0,
  /** @type {any} */
  image: null,
  /** @type {Element | null} */
  opener: null,
  onSearch: (/** @type {unknown} */ _img) => {},
};

const els = {};

function meta(img) {
  const rows = [
    ['Size', img.width && img.height ? `${img.width} × ${img.height} px` : '—'],
    ['Format', img.format ?? '—'],
    ['File', fmtBytes(img.size)],
    ['Added', new Date(img.added_at).toLocaleString()],
    [
      'Vectors',
      img.vectors.length ? img.vectors.map((v) => `width ${v.width}`).join(', ') : 'none',
    ],
    ['Path', img.paths.length ? img.paths.join('\n') : '—'],
    ['Id', String(img.id)],
  ];
  return rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

function tiles(list) {
  return list.map((r) =>
    tile({
      id: r.id,
      thumbnail_url: r.thumbnail_url,
      path: r.path,
      score: r.score,
      action: 'Open its details',
      onActivate: () => void show(r.id, { focusTitle: true }),
    }),
  );
}

async function show(id, o = {}) {
  const seq = ++state.seq;
  els.title.textContent = 'Loading…';
  els.dupes.replaceChildren();
  els.similar.replaceChildren(h('li', { class: 'empty-note' }, 'Loading similar images…'));
  els.search.disabled = true;
  try {
    const img = await api.getImage(id);
    if (seq !== state.seq) return;
    state.image = img;
    els.title.textContent = img.path ?? '(no path)'; // the full path: the tiles show its end
    els.img.alt = shortPath(img.path);
    els.img.dataset.fallback = img.thumbnail_url;
    els.img.src = img.file_url;
    els.file.href = img.file_url;
    els.meta.replaceChildren(...meta(img));
    els.search.disabled = false;
    if (o.focusTitle) els.title.focus();
    const sim = await api.similar(id, { k: SIMILAR_K });
    if (seq !== state.seq) return;
    const dupes = sim.results.filter((r) => r.score >= DUPE_SCORE);
    const rest = sim.results.filter((r) => r.score < DUPE_SCORE);
    els.dupes.replaceChildren(
      ...(dupes.length ? tiles(dupes) : [h('li', { class: 'empty-note' }, 'None.')]),
    );
    els.similar.replaceChildren(
      ...(rest.length ? tiles(rest) : [h('li', { class: 'empty-note' }, 'None.')]),
    );
  } catch (err) {
    if (seq !== state.seq) return;
    els.title.textContent = 'Image';
    els.similar.replaceChildren(h('li', { class: 'empty-note' }, `Cannot load: ${err.message}`));
  }
}

/** Opens the dialog on a library image ({id, ...}). */
export function openDetail(img) {
  state.opener = document.activeElement;
  if (!els.dialog.open) els.dialog.showModal();
  void show(img.id);
}

export function initDetail({ onSearch }) {
  state.onSearch = onSearch;
  Object.assign(els, {
    dialog: $('#detail'),
    title: $('#detail-title'),
    img: $('#detail-img'),
    meta: $('#detail-meta'),
    search: $('#detail-search'),
    file: $('#detail-file'),
    dupes: $('#detail-dupes'),
    similar: $('#detail-similar'),
    close: $('#detail-close'),
  });
  els.title.tabIndex = -1;
  $('#dupes-note').textContent = `(score ≥ ${fmtScore(DUPE_SCORE).replace(/0+$/, '')})`;
  // The original may be outside the served roots: fall back to the thumbnail.
  els.img.addEventListener('error', () => {
    const fb = els.img.dataset.fallback;
    if (fb && !els.img.src.endsWith(fb)) els.img.src = fb;
  });
  els.close.addEventListener('click', () => els.dialog.close());
  // A click on the backdrop (outside the dialog box) closes it too.
  els.dialog.addEventListener('click', (e) => {
    if (e.target !== els.dialog) return;
    const r = els.dialog.getBoundingClientRect();
    const inside =
      e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
    if (!inside) els.dialog.close();
  });
  els.dialog.addEventListener('close', () => {
    state.seq++;
    const back = state.opener;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  });
  els.search.addEventListener('click', () => {
    const img = state.image;
    if (!img) return;
    state.opener = null; // focus goes to the results instead
    els.dialog.close();
    state.onSearch(img);
  });
}

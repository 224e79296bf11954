/**
 * The browse view: the library in id order, one page at a time (keyset cursors from the API;
 * the cursors of earlier pages are kept so Previous works without offsets).
 */
import * as api from './api.js';
import { $, h, tile } from './dom.js';

const PAGE = 40;

const state = {
  /** cursors[i] is the cursor that loads page i (page 0: none). */
  cursors: [''],
  page: 0,
  next: /** @type {string | null} */ (null),
  total: 0,
  loaded: false,
  onOpen: (/** @type {unknown} */ _img) => {},
};

const els = {};

/** Thousands grouped: 'Images 1,961–2,000 of 2,000'. */
const n = (x) => x.toLocaleString('en');

async function load(page, fromPager = false) {
  els.status.textContent = 'Loading…';
  els.prev.disabled = true;
  els.next.disabled = true;
  try {
    const [body, stats] = await Promise.all([
      api.listImages(state.cursors[page], PAGE),
      api.stats().catch(() => null),
    ]);
    state.page = page;
    state.next = body.next_cursor;
    if (stats) state.total = stats.images;
    if (state.next !== null) state.cursors[page + 1] = state.next;
    state.loaded = true;
    els.grid.replaceChildren(
      ...body.images.map((img) =>
        tile({
          id: img.id,
          thumbnail_url: img.thumbnail_url,
          path: img.path,
          action: 'Open details and similar images',
          onActivate: () => state.onOpen(img),
        }),
      ),
    );
    if (body.images.length === 0)
      els.grid.append(
        h(
          'li',
          { class: 'empty-note' },
          "The library is empty: add images with 'matsearch ingest'.",
        ),
      );
    const first = page * PAGE + 1;
    const last = page * PAGE + body.images.length;
    const pages = state.total ? Math.max(1, Math.ceil(state.total / PAGE)) : null;
    els.pageLabel.textContent = pages
      ? `Page ${n(page + 1)} of ${n(pages)}`
      : `Page ${n(page + 1)}`;
    els.status.textContent = body.images.length
      ? `Images ${n(first)}–${n(last)}${state.total ? ` of ${n(state.total)}` : ''}`
      : '';
    // Next and Previous sit below the grid: show the new page from its top, with its status.
    if (fromPager && els.view.getBoundingClientRect().top < 0)
      els.view.scrollIntoView({ block: 'start' });
    els.prev.disabled = page === 0;
    els.next.disabled = state.next === null;
  } catch (err) {
    els.status.textContent = `Cannot load the library: ${err.message}`;
    els.prev.disabled = state.page === 0;
    els.next.disabled = state.next === null;
  }
}

/** Shows the browse view (loading the first page the first time). */
export function showBrowse() {
  if (!state.loaded) void load(0);
}

export function initBrowse({ onOpen }) {
  state.onOpen = onOpen;
  Object.assign(els, {
    grid: $('#browse-grid'),
    status: $('#browse-status'),
    prev: $('#prev'),
    next: $('#next'),
    pageLabel: $('#page-label'),
    view: $('#view-browse'),
  });
  els.prev.addEventListener('click', () => void load(Math.max(0, state.page - 1), true));
  els.next.addEventListener('click', () => void load(state.page + 1, true));
}

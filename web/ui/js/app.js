/**
 * The matsearch web UI: plain ES modules served as they are (no build step, nothing from other
 * origins). Two views behind the URL hash (#search, #browse) and one dialog for an image.
 */
import * as api from './api.js';
import { initBrowse, showBrowse } from './browse.js';
import { initDetail, openDetail } from './detail.js';
import { $ } from './dom.js';
import { initSearch, searchLibraryImage } from './search.js';

/** Model ids of the untrained stand-in model (src/embed/untrained.ts) start with this. */
const UNTRAINED = 'emoji-tiny-untrained@';

function route() {
  const view = location.hash === '#browse' ? 'browse' : 'search';
  $('#view-search').hidden = view !== 'search';
  $('#view-browse').hidden = view !== 'browse';
  for (const v of ['search', 'browse']) {
    const link = $(`#nav-${v}`);
    if (v === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = view === 'browse' ? 'Library · matsearch' : 'matsearch';
  if (view === 'browse') showBrowse();
}

async function header() {
  const el = $('#lib-stats');
  try {
    const s = await api.stats();
    const model = s.model_id.replace(/@(\w{6})\w*$/, '@$1');
    el.textContent = `${s.images.toLocaleString()} images · ${model} · ${s.index.kind} index`;
    el.title = s.model_id;
    refineProgress(s);
    const banner = $('#banner');
    if (s.model_id.startsWith(UNTRAINED)) {
      banner.textContent =
        'This demo runs an untrained, randomly initialised model: every code path works, but the rankings mean nothing until the trained default model (models/general-tiny) is back in place.';
      banner.hidden = false;
    } else if (s.images === 0) {
      banner.textContent = "The library is empty: add images with 'matsearch ingest'.";
      banner.hidden = false;
    }
    deadLetters(s.dead_letters);
  } catch (err) {
    el.textContent = `server unreachable (${err.message})`;
  }
}

/**
 * Images ingested at a narrow width that the server is refining to full width while idle: a
 * progress bar in the header, polled until the backlog is gone.
 */
let refinePoll = 0;
function refineProgress(s) {
  const r = s.refine;
  const box = $('#refine-progress');
  clearTimeout(refinePoll);
  if (!r || !r.enabled || r.narrow - r.failed <= 0) {
    box.hidden = true;
    return;
  }
  const total = r.narrow + r.refined;
  const bar = document.createElement('progress');
  bar.max = total;
  bar.value = r.refined;
  const label = document.createElement('span');
  label.textContent =
    `Refining to full width while idle: ${r.refined.toLocaleString()} of ${total.toLocaleString()} ` +
    `(at most ${Math.round(100 * r.share)}% of the time)`;
  box.replaceChildren(label, bar);
  box.hidden = false;
  refinePoll = setTimeout(() => void header(), 3000);
}

/** Queued files that failed on every worker try: said once, with the latest errors. */
function deadLetters(dl) {
  const el = $('#dead-letters');
  if (!dl || dl.count === 0) {
    el.hidden = true;
    return;
  }
  el.replaceChildren();
  const head = document.createElement('p');
  head.textContent =
    `${dl.count.toLocaleString()} queued file${dl.count === 1 ? '' : 's'} failed on every worker try ` +
    "(dead letters; 'matsearch stats' lists them all):";
  const list = document.createElement('ul');
  for (const d of dl.recent.slice(0, 5)) {
    const li = document.createElement('li');
    li.textContent = `${d.path}: ${d.error} (${d.attempts} tries)`;
    list.append(li);
  }
  el.append(head, list);
  el.hidden = false;
}

initSearch({ onDetails: (img) => openDetail(img) });
initBrowse({ onOpen: (img) => openDetail(img) });
initDetail({ onSearch: (img) => void searchLibraryImage(img, { focusResults: true }) });
window.addEventListener('hashchange', route);
route();
void header();
document.documentElement.dataset.ready = 'true';

/**
 * The search view: the query, the width dial and options, progressive results and the timings.
 *
 * Progressive results: the first call encodes the query once, at the dial's width, and its
 * results (the shortlist rescored exactly against the stored full-width vectors) show as soon
 * as they land. With "refine" on and a width below 1, a second call (`refine=true`, pinned to
 * the same width) adds a full-width query pass that rescores the same shortlist and replaces
 * the list; the server keeps the first call's vector, so only the full-width pass is new work.
 * Tiles show how far the refine pass moved them.
 */
import * as api from './api.js';
import { $, baseName, fmtDuration, h, shortPath, tile } from './dom.js';
import { renderTimings, renderWidthTable } from './timings.js';

const WIDTHS = ['1', '1/2', '1/4', '1/8'];

const state = {
  /** @type {{blob: Blob, name: string, url: string} | null} */
  query: null,
  seq: 0,
  /** @type {AbortController | null} */
  controller: null,
  comparing: false,
  /** The query width label of the latest search. */
  current: '',
  /** A new query: scroll its first results into view (one-column layout). */
  reveal: false,
  /** Per query width label: { shortlist, final } server totals (ms) and the shortlist ids. */
  history: new Map(),
  onDetails: (/** @type {unknown} */ _img) => {},
};

const els = {};

/** The current controls as API parameters (snake_case, as on the wire). */
function params() {
  const width = /** @type {HTMLInputElement} */ ($('input[name="width"]:checked'))?.value ?? '1';
  let k = Math.round(Number(els.k.value));
  if (!Number.isFinite(k) || k < 1) k = 1;
  if (k > 100) k = 100;
  if (String(k) !== els.k.value) els.k.value = String(k);
  const min = els.minScore.value === '' ? undefined : Number(els.minScore.value);
  const p = {
    k,
    width,
    min_score: Number.isFinite(min) ? Math.max(-1, Math.min(1, min)) : undefined,
  };
  if (width === 'auto') p.budget_ms = Math.max(0.1, Number(els.budget.value) || 5);
  return p;
}

function setStatus(text, kind = 'info') {
  els.status.textContent = text;
  els.status.dataset.kind = kind;
}

/** Rank moves from the shortlist to the final list: +2 = moved up two places, 'new' = not in it. */
function moves(final, shortlist) {
  const before = new Map(shortlist.results.map((r, i) => [r.id, i]));
  return final.results.map((r, i) => (before.has(r.id) ? before.get(r.id) - i : 'new'));
}

function renderResults(resp, o = {}) {
  const m = o.shortlist ? moves(resp, o.shortlist) : null;
  els.grid.replaceChildren(
    ...resp.results.map((r, i) =>
      tile({
        id: r.id,
        thumbnail_url: r.thumbnail_url,
        path: r.path,
        score: r.score,
        move: m ? m[i] : null,
        pending: !!o.pending,
        action: 'Search with this image',
        onActivate: () => void searchLibraryImage(r, { focusResults: true }),
        onDetails: () => state.onDetails(r),
      }),
    ),
  );
  els.grid.dataset.state = o.pending ? 'shortlist' : 'final';
  els.results.dataset.state = o.pending ? 'shortlist' : 'final';
  if (resp.results.length === 0)
    els.grid.append(
      h('li', { class: 'empty-note' }, 'No results: lower the min score, or add images.'),
    );
}

function remember(label, patch) {
  state.history.set(label, { ...(state.history.get(label) ?? {}), ...patch });
  state.current = label;
  renderWidthTable(els.widthTable, state.history, WIDTHS, label);
}

/** Forgets the widths table (a new query, or a setting its numbers depend on changed). */
function forget() {
  state.history.clear();
  renderWidthTable(els.widthTable, state.history, WIDTHS);
}

const isAbort = (err) => err instanceof DOMException && err.name === 'AbortError';

/** One search call, timed in the browser (upload, server and download). */
async function timedSearch(p, signal) {
  const t = performance.now();
  const r = await api.search(state.query, p, signal);
  r.client_ms = performance.now() - t;
  return r;
}

/** Runs the current query with the current settings (aborting one in flight). */
export async function run() {
  if (!state.query) return;
  const seq = ++state.seq;
  state.controller?.abort();
  const ctl = (state.controller = new AbortController());
  const p = params();
  const refine = els.refine.checked;
  setStatus(`Searching at width ${p.width}…`);
  els.results.dataset.state = 'loading';
  els.timings.dataset.state = 'loading';
  try {
    const shortlist = await timedSearch(p, ctl.signal);
    if (seq !== state.seq) return;
    const width = shortlist.widths.query;
    const ids = shortlist.results.map((r) => r.id);
    const refining = refine && width !== '1';
    remember(width, { shortlist: shortlist.timings_ms.total, ids });
    renderResults(shortlist, { pending: refining });
    renderTimings(els.timings, { shortlist, final: refining ? 'pending' : null, asked: p.width });
    reveal();
    if (!refining) {
      setStatus(summary(shortlist, null, p.width));
      void dialLatencies();
      return;
    }
    setStatus(
      `Results at width ${width} in ${fmtDuration(shortlist.client_ms)}; refining with a full-width query pass…`,
    );
    // Pinned to the width the first call used ('auto' could pick another one the second time).
    const pinned = { ...p, width, budget_ms: undefined, refine: true };
    const final = await timedSearch(pinned, ctl.signal);
    if (seq !== state.seq) return;
    remember(width, { final: final.timings_ms.total });
    renderResults(final, { shortlist });
    renderTimings(els.timings, { shortlist, final, asked: p.width });
    setStatus(summary(shortlist, final, p.width));
    void dialLatencies();
  } catch (err) {
    if (isAbort(err) || seq !== state.seq) return;
    els.results.dataset.state = 'error';
    setStatus(`Search failed: ${err.message}`, 'error');
  }
}

/**
 * Under the dial: the server's measured encode latency per width and, where the dial bench
 * measured this model, each width's mAP@10 and what it gives up against width 1.
 */
async function dialLatencies() {
  try {
    const s = await api.stats();
    const q = s.width_quality?.map_at_10 ?? {};
    const known = WIDTHS.filter((w) => s.encode_ms?.[w] !== undefined || q[w] !== undefined);
    if (known.length === 0) return;
    const pct = (x) => (100 * x).toFixed(1);
    const cost = (w) => {
      const parts = [];
      if (s.encode_ms?.[w] !== undefined) parts.push(fmtDuration(s.encode_ms[w]));
      if (q[w] !== undefined) {
        const drop = q['1'] !== undefined && w !== '1' ? ` (${pct(q[w] - q['1'])})` : '';
        parts.push(`mAP@10 ${pct(q[w])}%${drop}`);
      }
      return `${w} ${parts.join(', ')}`;
    };
    const source = s.width_quality
      ? ` Quality: ${s.width_quality.set}, ${s.width_quality.queries} queries, npm run bench -- dial${s.width_quality.quick ? ' (quick run)' : ''}.`
      : '';
    els.dialHint.textContent =
      'Encode measured on this server, per width: ' +
      [...known].reverse().map(cost).join(' · ') +
      '. Every width writes into the same embedding space.' +
      source;
  } catch {
    // the hint keeps its text; a failed stats call changes nothing else
  }
}

function summary(shortlist, final, asked) {
  const r = final ?? shortlist;
  const n = r.results.length;
  const width = shortlist.widths.query;
  const w = asked === 'auto' ? `auto → ${width}` : width;
  const parts = [`${n} result${n === 1 ? '' : 's'}`, `query width ${w}`];
  parts.push(
    final
      ? 'refined at width 1'
      : shortlist.widths.rerank
        ? 'one encode, exact rerank'
        : 'coarse scores only',
  );
  const times = final
    ? `first results in ${fmtDuration(shortlist.client_ms)}, final in ${fmtDuration(shortlist.client_ms + final.client_ms)}`
    : fmtDuration(shortlist.client_ms);
  return `${parts.join(' · ')} · ${times}`;
}

/** Runs every standard width on the current query to fill the comparison table. */
async function compareWidths() {
  if (!state.query || state.comparing) return;
  state.comparing = true;
  els.compare.disabled = true;
  const seq = state.seq;
  const current = state.current;
  const base = params();
  const refine = els.refine.checked;
  try {
    for (const width of WIDTHS) {
      if (seq !== state.seq) break; // a new search started: stop comparing
      const p = { ...base, width, budget_ms: undefined };
      const s = await api.search(state.query, p);
      remember(s.widths.query, { shortlist: s.timings_ms.total, ids: s.results.map((r) => r.id) });
      if (refine && width !== '1') {
        const f = await api.search(state.query, { ...p, refine: true });
        remember(f.widths.query, { final: f.timings_ms.total });
      }
    }
  } catch (err) {
    setStatus(`Comparing widths failed: ${err.message}`, 'error');
  } finally {
    state.comparing = false;
    els.compare.disabled = !state.query;
    if (seq === state.seq && current) remember(current, {}); // highlight the width shown
  }
}

/** On one column (a phone), the results sit below the settings: bring a new query's into view. */
function reveal() {
  if (!state.reveal) return;
  state.reveal = false;
  if (matchMedia('(max-width: 860px)').matches)
    els.results.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/** Makes `blob` the query and searches with it. */
export function setQuery(blob, name) {
  if (state.query) URL.revokeObjectURL(state.query.url);
  state.query = { blob, name, url: URL.createObjectURL(blob) };
  state.reveal = true;
  forget();
  els.queryImg.src = state.query.url;
  els.queryImg.alt = `Query: ${name}`;
  els.queryImg.hidden = false;
  els.queryName.textContent = name;
  els.drop.dataset.empty = 'false';
  els.pick.textContent = 'Choose another…';
  els.intro.hidden = true;
  els.compare.disabled = false;
  return run();
}

/** A library image (a result, or one from Browse) as the next query. */
export async function searchLibraryImage(img, o = {}) {
  if (location.hash !== '#search') location.hash = '#search';
  setStatus(`Fetching ${shortPath(img.path)}…`);
  els.results.dataset.state = 'loading';
  els.timings.dataset.state = 'loading';
  try {
    const blob = await api.imageBlob(img);
    if (o.focusResults) els.results.focus({ preventScroll: false });
    await setQuery(blob, baseName(img.path));
  } catch (err) {
    setStatus(`Cannot use that image: ${err.message}`, 'error');
  }
}

/** The first image among dropped or pasted files, or null. */
function firstImage(files) {
  for (const f of files ?? []) if (f.type.startsWith('image/')) return f;
  return null;
}

export function initSearch({ onDetails }) {
  state.onDetails = onDetails;
  for (const id of [
    'drop',
    'file',
    'pick',
    'query-img',
    'query-name',
    'timings',
    'refine',
    'k',
    'dial-hint',
  ])
    els[id.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = $(`#${id}`);
  Object.assign(els, {
    minScore: $('#min-score'),
    budget: $('#budget'),
    budgetRow: $('#budget-row'),
    status: $('#status'),
    grid: $('#grid'),
    results: $('#results'),
    intro: $('#intro'),
    compare: $('#compare'),
    widthTable: $('#width-table'),
  });

  els.file.addEventListener('change', () => {
    const f = firstImage(els.file.files);
    if (f) void setQuery(f, f.name);
    els.file.value = ''; // choosing the same file again still fires 'change'
  });
  // The whole drop zone opens the picker (the button inside is the keyboard's way in).
  els.drop.addEventListener('click', (e) => {
    if (e.target === els.drop || e.target === els.queryImg) els.file.click();
  });
  document.addEventListener('paste', (e) => {
    const f = firstImage(e.clipboardData?.files);
    if (!f) return;
    e.preventDefault();
    if (location.hash !== '#search') location.hash = '#search';
    void setQuery(f, f.name && f.name !== 'image.png' ? f.name : 'pasted image');
  });
  let depth = 0;
  const dragging = (on) => document.body.classList.toggle('dragging', on);
  document.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    depth++;
    dragging(true);
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) dragging(false);
  });
  document.addEventListener('dragover', (e) => {
    if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
  });
  document.addEventListener('drop', (e) => {
    depth = 0;
    dragging(false);
    const f = firstImage(e.dataTransfer?.files);
    if (!f) return;
    e.preventDefault();
    if (location.hash !== '#search') location.hash = '#search';
    void setQuery(f, f.name);
  });

  for (const radio of document.querySelectorAll('input[name="width"]'))
    radio.addEventListener('change', () => {
      els.budgetRow.hidden = radio.value !== 'auto' || !radio.checked;
      void run();
    });
  els.budget.addEventListener('change', () => void run());
  els.refine.addEventListener('change', () => {
    forget(); // its Refined column belongs to the old setting
    void run();
  });
  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      forget(); // the overlap counts need one k and one min score
      void run();
    }, 350);
  };
  els.k.addEventListener('input', later);
  els.minScore.addEventListener('input', later);
  els.compare.addEventListener('click', () => void compareWidths());
  forget();
}

/**
 * Where the time went: a stacked bar per phase (first results, refined) and a table of the stages the
 * server reports (timings_ms), plus the browser's round trip; and the per-width comparison table.
 */
import { fmtDuration, fmtMs, h } from './dom.js';

/** Server stages in pipeline order, with what each one is. */
const STAGES = [
  ['queue', 'Waiting for a search slot on the server'],
  ['decode', 'Reading and resizing the uploaded image'],
  ['encode', 'The one encode of the query at the chosen width (0 when the server had it cached)'],
  ['refine_encode', 'The full-width query pass of refine (0 without it)'],
  ['coarse', 'Shortlist from the index'],
  ['rerank', 'Exact rescoring of the shortlist against the stored full-width vectors'],
];

function phaseTitle(resp, which, asked) {
  if (which === 'shortlist') {
    const w = resp.widths.query;
    return { name: 'First', sub: asked === 'auto' ? `auto → ${w}` : `width ${w}` };
  }
  return { name: 'Refined', sub: `full-width pass` };
}

/**
 * @param {HTMLElement} box
 * @param {{shortlist: any, final: any | 'pending' | null, asked: string}} o
 */
export function renderTimings(box, o) {
  const phases = [['shortlist', o.shortlist]];
  if (o.final) phases.push(['final', o.final]);
  const done = phases.filter(([, r]) => r !== 'pending');
  const max = Math.max(1e-9, ...done.map(([, r]) => r.timings_ms.total));

  const bars = h(
    'div',
    { class: 'bars', 'aria-hidden': 'true' },
    ...phases.map(([which, r]) => {
      if (r === 'pending')
        return h(
          'div',
          { class: 'bar-row' },
          h('span', { class: 'bar-label' }, 'Refined'),
          h('div', { class: 'bar pending' }),
        );
      const t = r.timings_ms;
      const bar = h('div', { class: 'bar' });
      bar.style.width = `${Math.max(2, (100 * t.total) / max)}%`;
      for (const [stage] of STAGES) {
        if (!(t[stage] > 0)) continue;
        const seg = h('span', {
          class: `part s-${stage}`,
          title: `${stage} ${fmtDuration(t[stage])}`,
        });
        seg.style.flexGrow = String(t[stage]);
        bar.append(seg);
      }
      return h(
        'div',
        { class: 'bar-row' },
        h('span', { class: 'bar-label' }, which === 'shortlist' ? 'First' : 'Refined'),
        h('div', { class: 'bar-track' }, bar),
        h('span', { class: 'bar-total' }, fmtDuration(t.total)),
      );
    }),
  );

  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Stage (ms)'),
    ...phases.map(([which, r]) => {
      if (r === 'pending')
        return h(
          'th',
          { scope: 'col', dataset: { phase: which } },
          'Refined',
          h('small', {}, 'running…'),
        );
      const t = phaseTitle(r, which, o.asked);
      return h(
        'th',
        { scope: 'col', dataset: { phase: which, width: r.widths.query } },
        t.name,
        h('small', {}, t.sub),
      );
    }),
  );
  const cell = (which, r, stage) =>
    h(
      'td',
      { dataset: { phase: which, stage } },
      r === 'pending' ? '…' : fmtMs(stage === 'round trip' ? r.client_ms : r.timings_ms[stage]),
    );
  const rows = [
    ...STAGES.map(([stage, what]) =>
      h(
        'tr',
        {},
        h(
          'th',
          { scope: 'row', title: what },
          h('span', { class: `swatch s-${stage}`, 'aria-hidden': 'true' }),
          stage,
        ),
        ...phases.map(([which, r]) => cell(which, r, stage)),
      ),
    ),
    h(
      'tr',
      { class: 'total' },
      h('th', { scope: 'row', title: 'The whole request, on the server' }, 'total'),
      ...phases.map(([which, r]) => cell(which, r, 'total')),
    ),
    h(
      'tr',
      { class: 'trip' },
      h(
        'th',
        { scope: 'row', title: 'Measured in the browser: upload, server, download' },
        'round trip',
      ),
      ...phases.map(([which, r]) => cell(which, r, 'round trip')),
    ),
  ];
  const table = h(
    'table',
    { class: 'stage-table' },
    h('caption', { class: 'visually-hidden' }, 'Latency per stage in milliseconds'),
    h('thead', {}, head),
    h('tbody', {}, ...rows),
  );
  box.dataset.state = o.final === 'pending' ? 'shortlist' : 'final';
  box.dataset.width = o.shortlist.widths.query;
  box.replaceChildren(bars, table);
}

/**
 * The widths tried on the current query: server totals per phase and how many of the shortlist's
 * top k each width shares with width 1 (known once width 1 has run on this query).
 * @param {HTMLTableElement} table
 * @param {Map<string, {shortlist?: number, final?: number, ids?: number[]}>} history
 * @param {string[]} widths
 * @param {string} [current]
 */
export function renderWidthTable(table, history, widths, current) {
  const full = history.get('1')?.ids;
  const labels = [...widths, ...[...history.keys()].filter((w) => !widths.includes(w))];
  const rows = labels.map((w) => {
    const e = history.get(w) ?? {};
    let same = '—';
    if (full && e.ids) {
      const ref = new Set(full);
      same = `${e.ids.filter((id) => ref.has(id)).length}/${full.length}`;
    }
    return h(
      'tr',
      { class: w === current ? 'current' : null, dataset: { width: w } },
      h('th', { scope: 'row' }, w),
      h('td', {}, e.shortlist === undefined ? '—' : fmtMs(e.shortlist)),
      h('td', {}, e.final === undefined ? '—' : fmtMs(e.final)),
      h('td', {}, same),
    );
  });
  table.tBodies[0].replaceChildren(...rows);
}

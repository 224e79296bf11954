/**
 * The web UI in a real browser: Debian's chromium driven by playwright-core, against the server
 * on a small library of the sample emoji. Uploads an image, sees the progressive results, moves
 * the width dial (mouse and keyboard) and sees the timings change, searches with a result from
 * the keyboard, browses and opens an image, checks the phone layout, pages through a (stubbed)
 * library of 2,000 images, and searches real photos with an edited copy, taking screenshots at a
 * phone and a desktop width (see SHOT_DIR).
 *
 * Chromium must be installed (`apt-get install -y chromium`; .ci/run does it). Without it this
 * test fails, on purpose: a skipped browser test would let a broken UI pass CI unnoticed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import { openEmbedder, resolveModelDir } from '../../src/embed/open.js';
import { Library } from '../../src/library.js';
import { startServer, type RunningServer } from '../../web/server.js';

const CHROMIUM = process.env['MATSEARCH_CHROMIUM'] ?? '/usr/bin/chromium';
const repo = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const SAMPLES = repo('samples');
/**
 * Where the screenshots go: MATSEARCH_SCREENSHOT_OUT (docs/img refreshes the README's ui.png and
 * the layout shots the UI was checked with), else the temp folder, so a test run never leaves the
 * working tree changed. MATSEARCH_SCREENSHOT=1 is the older spelling of docs/img.
 */
const SHOT_DIR =
  process.env['MATSEARCH_SCREENSHOT_OUT'] ??
  (process.env['MATSEARCH_SCREENSHOT'] === '1' ? repo('docs/img') : undefined);
/** Emoji taken from samples/, each in all three vendors' drawings. */
const EMOJI = ['bagel', 'beers', 'blush', 'book', 'burrito', 'car', 'chopsticks', 'cucumber'];

let dir: string;
let photos: string;
let embedder: Embedder;
let lib: Library;
let srv: RunningServer;
let browser: Browser;
let page: Page;
/** Problems the page reported: console errors, uncaught exceptions, failed or foreign requests. */
const problems: string[] = [];
/** The searches the page made, in order, as "first 1/8" or "refined 1/8". */
let searches: Promise<string>[] = [];

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: the end-to-end test needs Debian's chromium ` +
        "(run 'apt-get install -y chromium', as .ci/run does, or set MATSEARCH_CHROMIUM)",
    );
  dir = mkdtempSync(join(tmpdir(), 'e2e-'));
  photos = join(dir, 'samples');
  for (const vendor of readdirSync(SAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()))
    for (const f of readdirSync(join(SAMPLES, vendor.name)))
      if (EMOJI.includes(f.replace(/\.\w+$/, ''))) {
        mkdirSync(join(photos, vendor.name), { recursive: true });
        copyFileSync(join(SAMPLES, vendor.name, f), join(photos, vendor.name, f));
      }
  embedder = await openEmbedder(resolveModelDir()); // the shipped default model
  lib = Library.open(join(dir, 'lib'), { embedder, index: { thread: 'worker' }, log: () => {} });
  const s = await lib.ingest([photos]);
  assert.equal(s.failed, 0);
  srv = await startServer(lib, { port: 0, roots: [photos], log: () => {} });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') problems.push(`failed: ${r.url()} ${why}`); // aborts are ours
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(srv.url) && !url.startsWith(`blob:${srv.url}`))
      problems.push(`foreign request: ${url}`);
  });
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && r.url().endsWith('/api/search') && r.ok())
      searches.push(
        r.json().then((b: { widths: { query: string }; refined: boolean }) => {
          return `${b.refined ? 'refined' : 'first'} ${b.widths.query}`;
        }),
      );
  });
});

after(async () => {
  await browser?.close();
  await srv?.close();
  lib?.close();
  await embedder?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The stage cells of the timings table, e.g. { 'final encode': '2.41', ... }. */
/** The timings table in ms, as the page shows them ("0.42", "27", or "1.2 s" on a slow machine). */
async function timings(): Promise<Record<string, string>> {
  const shown = await page.$$eval('#timings td[data-stage]', (tds) =>
    Object.fromEntries(
      tds.map((td) => [
        `${(td as HTMLElement).dataset['phase']} ${(td as HTMLElement).dataset['stage']}`,
        td.textContent ?? '',
      ]),
    ),
  );
  return Object.fromEntries(
    Object.entries(shown).map(([k, v]) => [
      k,
      /^[\d.]+ s$/.test(v) ? String(1000 * Number(v.slice(0, -2))) : v,
    ]),
  );
}

const finalAt = (width: string) =>
  page.waitForSelector(`#timings[data-state="final"][data-width="${width}"]`);

test(
  'the page loads from this server alone and shows the library',
  { timeout: 30_000 },
  async () => {
    await page.goto(srv.url + '/');
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() =>
      /24 images/.test(document.querySelector('#lib-stats')!.textContent ?? ''),
    );
    // The trained default model: no "untrained stand-in" warning.
    assert.equal(await page.isVisible('#banner'), false);
    assert.equal(await page.getAttribute('#nav-search', 'aria-current'), 'page');
  },
);

test('upload an image: one search at width 1, no refine pass', { timeout: 30_000 }, async () => {
  searches = [];
  await page.setInputFiles('#file', join(SAMPLES, 'twemoji', 'bagel.png'));
  await finalAt('1');
  const tiles = await page.$$('#grid .tile');
  assert.equal(tiles.length, 12);
  // The same file is in the library: it comes first, with a score of 1.
  const first = await page.getAttribute('#grid .tile:first-child .tile-main', 'aria-label');
  assert.match(first ?? '', /^twemoji\/bagel\.png, score 1\.000\./);
  // Width 1 needs no refine pass: one call, one encode.
  assert.deepEqual(await Promise.all(searches), ['first 1']);
  assert.match(
    (await page.textContent('#status')) ?? '',
    /12 results · query width 1 · one encode, exact rerank/,
  );
  const t = await timings();
  for (const stage of ['queue', 'decode', 'encode', 'coarse', 'rerank', 'total', 'round trip'])
    assert.ok(
      Number.isFinite(Number(t[`shortlist ${stage}`])),
      `first ${stage}: ${t[`shortlist ${stage}`]}`,
    );
  assert.ok(Number(t['shortlist encode']) > 0);
});

test('the width dial re-runs the query and the timings follow', { timeout: 30_000 }, async () => {
  const before = await page.textContent('#timings');
  searches = [];
  await page.click('label[for="w-1-8"]');
  await finalAt('1/8');
  // Below width 1: the first results, then the refine pass (whose 1/8 vector is cached).
  assert.deepEqual(await Promise.all(searches), ['first 1/8', 'refined 1/8']);
  const t = await timings();
  // Both vectors are the server's cached ones: this image was searched at width 1 just before.
  assert.equal(Number(t['final refine_encode']), 0, `refine_encode ${t['final refine_encode']}`);
  assert.equal(Number(t['final encode']), 0);
  // The dial shows this server's measured encode latency of the widths searched so far.
  await page.waitForFunction(() =>
    /Encode measured on this server, per width: 1\/8 [\d.]+ m?s[^·]*· (1\/4 [^·]*· 1\/2 [^·]*· )?1 [\d.]+ m?s/.test(
      document.querySelector('#dial-hint')!.textContent ?? '',
    ),
  );
  assert.notEqual(await page.textContent('#timings'), before);
  assert.match((await page.textContent('#timings thead')) ?? '', /width 1\/8/);
  // Keyboard: arrows move along the dial like any radio group.
  await page.focus('#w-1-8');
  await page.keyboard.press('ArrowRight');
  await finalAt('1/4');
  assert.equal(await page.isChecked('#w-1-4'), true);
  // Both widths are now in the comparison table.
  const rows = await page.$$eval('#width-table tbody tr', (trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent)),
  );
  const row = (w: string) => rows.find((r) => r[0] === w)!;
  for (const w of ['1', '1/8', '1/4']) assert.notEqual(row(w)[1], '—', w);
  assert.equal(row('1')[3], '12/12');
  assert.equal(row('1/2')[1], '—');
});

test('a result searches on Enter; its details open with Space', { timeout: 30_000 }, async () => {
  // A PNG (an SVG original would go by its thumbnail, which is not byte for byte the same).
  const second = page
    .locator('#grid .tile:not(:first-child) .tile-main[aria-label*=".png,"]')
    .first();
  const name = ((await second.getAttribute('aria-label')) ?? '').split(',')[0]!;
  const fullPath = (await second.getAttribute('title')) ?? '';
  // Each caption shows its whole file name; the folders give way first, clipped from the left.
  const captions = await page.$$eval('#grid .tile-foot .name', (els) =>
    els.map((el) => {
      const file = el.querySelector('.file');
      return {
        path: el.getAttribute('title') ?? '',
        file: file?.textContent ?? '',
        clipped: file ? file.scrollWidth > file.clientWidth : true,
      };
    }),
  );
  assert.ok(captions.length > 0);
  for (const c of captions) {
    assert.ok(c.file.endsWith(c.path.split('/').pop()!), `${c.file} for ${c.path}`);
    assert.equal(c.clipped, false, `the file name of ${c.path} is cut off`);
  }
  await second.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (n) => document.querySelector('#query-name')?.textContent === n.split('/').pop(),
    name,
  );
  await finalAt('1/4');
  const first = await page.getAttribute('#grid .tile:first-child .tile-main', 'aria-label');
  assert.ok(first?.startsWith(`${name}, score`), `${first} should be ${name}`);

  await page.focus('#grid .tile:first-child .info');
  await page.keyboard.press('Space');
  await page.waitForSelector('#detail[open]');
  await page.waitForSelector('#detail-similar .tile');
  assert.equal(await page.textContent('#detail-title'), fullPath, 'the details give the full path');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#detail', { state: 'hidden' });
  // Focus goes back to the button that opened the dialog.
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'info');
});

test('browse the library and open an image', { timeout: 30_000 }, async () => {
  await page.click('#nav-browse');
  await page.waitForSelector('#browse-grid .tile');
  assert.equal((await page.$$('#browse-grid .tile')).length, 24);
  assert.match((await page.textContent('#browse-status')) ?? '', /Images 1–24 of 24/);
  assert.equal(await page.isDisabled('#next'), true);
  await page.click('#browse-grid .tile:nth-child(3) .tile-main');
  await page.waitForSelector('#detail[open] #detail-similar .tile');
  const title = (await page.textContent('#detail-title')) ?? '';
  await page.click('#detail-search');
  await page.waitForSelector('#view-search:not([hidden])');
  await finalAt('1/4');
  assert.equal(await page.textContent('#query-name'), title.split('/').pop());
});

test('readable on a phone: one column, no sideways scrolling', { timeout: 30_000 }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  const cols = await page.$eval(
    '#grid',
    (g) => getComputedStyle(g).gridTemplateColumns.split(' ').length,
  );
  assert.ok(cols >= 2 && cols <= 4, `${cols} columns`);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('every width compared; nothing went wrong on the page', { timeout: 30_000 }, async () => {
  await page.click('label[for="w-1-2"]');
  await finalAt('1/2');
  await page.click('#compare');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('#width-table tbody tr td:nth-child(2)')].every(
        (td) => td.textContent !== '—',
      ) && !(document.querySelector('#compare') as HTMLButtonElement).disabled,
  );
  // Every width has run now: one more search shows warm timings (no first-call start-up).
  await page.click('label[for="w-1-4"]');
  await finalAt('1/4');
  await page.evaluate(() => window.scrollTo(0, 0));
  const shot = join(dir, 'ui-emoji.png');
  await page.screenshot({ path: shot, fullPage: true, animations: 'disabled' });
  assert.ok(existsSync(shot));
  assert.deepEqual(problems, []);
});

test(
  'files that failed on every worker try (dead letters) are shown',
  { timeout: 30_000 },
  async () => {
    // A real queue needs redis (test/queue covers it); here the stats the server would send.
    await page.route('**/api/stats', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as Record<string, unknown>;
      const recent = [
        {
          path: '/photos/<b>bad</b>.jpg',
          error: 'corrupt JPEG',
          attempts: 3,
          job_id: 'j1',
          at: '',
        },
      ];
      await route.fulfill({ response: res, json: { ...body, dead_letters: { count: 7, recent } } });
    });
    await page.reload();
    await page.waitForSelector('#dead-letters:not([hidden])');
    const text = (await page.textContent('#dead-letters')) ?? '';
    assert.match(text, /7 queued files failed on every worker try/);
    assert.match(text, /<b>bad<\/b>\.jpg: corrupt JPEG \(3 tries\)/); // as text, never as markup
    assert.equal(await page.$$eval('#dead-letters b', (b) => b.length), 0);
    await page.unroute('**/api/stats');
  },
);

/** Saves a screenshot of the page as NAME.png (see SHOT_DIR), palette-coded to keep it small. */
async function shoot(name: string, fullPage = false): Promise<void> {
  const out = SHOT_DIR ?? dir;
  mkdirSync(out, { recursive: true });
  const png = await page.screenshot({ fullPage, animations: 'disabled' });
  await sharp(png)
    .png({ palette: true, effort: 10 })
    .toFile(join(out, `${name}.png`));
}

/** No sideways scrolling at the current viewport width. */
async function noOverflow(what: string): Promise<void> {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `${what}: the page is ${overflow}px wider than the window`);
}

test('2,000 images paged, at a phone and a desktop width', { timeout: 60_000 }, async () => {
  // A stubbed library of 2,000 images (the server's own 24 thumbnails, under long paths).
  const TOTAL = 2000;
  await page.route('**/api/stats', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, json: { ...(await res.json()), images: TOTAL } });
  });
  await page.route('**/api/images?*', async (route) => {
    const q = new URL(route.request().url()).searchParams;
    const from = Number(q.get('cursor') || 0);
    const limit = Number(q.get('limit') || 50);
    const ids = Array.from({ length: Math.min(limit, TOTAL - from) }, (_, i) => from + i + 1);
    const images = ids.map((id) => {
      const real = ((id - 1) % 24) + 1;
      return {
        id,
        width: 640,
        height: 480,
        format: 'jpeg',
        size: 123456,
        status: 'ready',
        added_at: '2026-01-01T00:00:00.000Z',
        path: `/home/someone/Pictures/2024/holidays-in-the-mountains-with-the-family/IMG_${String(id).padStart(5, '0')}.jpg`,
        url: `/api/images/${real}`,
        thumbnail_url: `/api/images/${real}/thumbnail`,
      };
    });
    const next = from + ids.length < TOTAL ? String(from + ids.length) : null;
    await route.fulfill({ json: { images, next_cursor: next } });
  });
  try {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    await page.click('#nav-browse');
    await page.waitForSelector('#browse-grid .tile');
    let label = (await page.textContent('#page-label')) ?? '';
    const pages = Number(/of (\d+)/.exec(label)?.[1]);
    assert.ok(pages > 1, label);
    for (let p = 2; p <= pages; p++) {
      await page.click('#next');
      await page.waitForFunction(
        (want) => document.querySelector('#page-label')?.textContent?.startsWith(want),
        `Page ${p} `,
      );
    }
    label = (await page.textContent('#page-label')) ?? '';
    assert.equal(label, `Page ${pages} of ${pages}`);
    assert.equal(await page.textContent('#browse-status'), 'Images 1,961–2,000 of 2,000');
    // The pager sits below the grid: a new page is shown from its top, status and all.
    const statusTop = await page.$eval('#browse-status', (el) => el.getBoundingClientRect().top);
    assert.ok(statusTop >= 0 && statusTop < 900, `the status is at ${statusTop}px, off screen`);
    assert.equal(await page.isDisabled('#next'), true);
    await noOverflow('browse, desktop');
    await shoot('ui-paged');
    await page.setViewportSize({ width: 390, height: 844 });
    await noOverflow('browse, phone');
    await shoot('ui-paged-phone');
  } finally {
    await page.unroute('**/api/stats');
    await page.unroute('**/api/images?*');
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test('a photo search: an edited copy finds its original first', { timeout: 120_000 }, async () => {
  // The sample photos' originals join the library; the query is an edited copy of one of them.
  const originals = join(photos, 'photos');
  mkdirSync(originals, { recursive: true });
  for (const f of readdirSync(join(SAMPLES, 'photos')))
    if (f.endsWith('.jpg') && !f.includes('.edit.'))
      copyFileSync(join(SAMPLES, 'photos', f), join(originals, f));
  const s = await lib.ingest([originals]);
  assert.equal(s.failed, 0);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.reload();
  await page.waitForSelector('html[data-ready="true"]');
  await page.click('#nav-search');
  await page.click('label[for="w-1-4"]');
  await page.setInputFiles('#file', join(SAMPLES, 'photos', 'animals-koala.edit.jpg'));
  await finalAt('1/4');
  const first = await page.getAttribute('#grid .tile:first-child .tile-main', 'aria-label');
  assert.match(first ?? '', /^photos\/animals-koala\.jpg, score/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await noOverflow('search, desktop');
  await shoot('ui'); // the README's screenshot: 1440x900
  await page.setViewportSize({ width: 390, height: 844 });
  await noOverflow('search, phone');
  await shoot('ui-phone', true);
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.deepEqual(problems, []);
});

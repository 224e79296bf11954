/**
 * The web UI's files as the server hands them out (no browser: test/web/e2e.test.ts drives one):
 * the page with its Content-Security-Policy, every file it references and every module import
 * served with the right type, and nothing that would fetch from another origin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { UI_CSP, UI_DIR, uiRoutes } from '../../web/routes/ui.js';

let server: Server;
let base: string;

before(async () => {
  const app = express();
  app.use(uiRoutes());
  app.use((_req, res) => void res.status(404).json({ error: { code: 'E_NOT_FOUND' } }));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Every file under web/ui/, relative to it. */
function uiFiles(dir = UI_DIR!, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? uiFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

const TYPES: Record<string, RegExp> = {
  html: /^text\/html/,
  js: /^(text|application)\/javascript/,
  css: /^text\/css/,
  svg: /^image\/svg\+xml/,
};

test('the page is served at / with a strict CSP', async () => {
  assert.ok(UI_DIR, 'web/ui/ was not found');
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', TYPES['html']!);
  assert.equal(res.headers.get('content-security-policy'), UI_CSP);
  assert.match(UI_CSP, /script-src 'self'/);
  assert.match(await res.text(), /<title>matsearch<\/title>/);
});

test('every referenced file and module import is served with its type', async () => {
  const html = readFileSync(join(UI_DIR!, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/\s(?:src|href)="([^"#]+)"/g)].map((m) => m[1]!);
  const imports = uiFiles()
    .filter((f) => f.endsWith('.js'))
    .flatMap((f) =>
      [...readFileSync(join(UI_DIR!, f), 'utf8').matchAll(/from '(\.\/[^']+)'/g)].map((m) =>
        join(f, '..', m[1]!),
      ),
    );
  assert.ok(refs.includes('js/app.js') && refs.includes('css/base.css'), refs.join(' '));
  assert.ok(imports.length > 5, imports.join(' '));
  for (const path of new Set([...refs, ...imports])) {
    const res = await fetch(`${base}/${path}`);
    assert.equal(res.status, 200, path);
    const ext = path.split('.').pop()!;
    assert.match(res.headers.get('content-type') ?? '', TYPES[ext]!, path);
    await res.arrayBuffer();
  }
});

test('nothing is fetched from elsewhere, and only web/ui/ is served', async () => {
  for (const f of uiFiles()) {
    // (An SVG's namespace is a name, not a download.)
    const text = readFileSync(join(UI_DIR!, f), 'utf8').replaceAll(
      'xmlns="http://www.w3.org/2000/svg"',
      '',
    );
    assert.doesNotMatch(text, /https?:\/\/|url\(\s*['"]?\/\/|@import/, f);
  }
  for (const path of ['/nothing.js', '/../package.json', '/%2e%2e/package.json', '/.hidden']) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 404, path);
    await res.arrayBuffer();
  }
});

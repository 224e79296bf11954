/**
 * Nothing in the shipped code downloads except `matsearch model pull` (src/hub/) and the
 * `matsearch data` fetchers (src/data/, a command made for downloading: they run `apt-get
 * download` and `npm pack`). Each source file is parsed (TypeScript's parser, no type check) and
 * searched for network clients: HTTP client modules, http(s).request/get, the global fetch,
 * XMLHttpRequest/WebSocket, and child processes running download tools. Serving HTTP
 * (createServer) and the Redis queue client are not downloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The folders whose code ships (package.json "files"). */
const SHIPPED = ['src', 'web', 'index', 'ingest', 'queue'];
/** The modules allowed to download, and why. */
const ALLOWED = [
  'src/hub/', // matsearch model pull: the one explicit download of weights
  'src/data/', // matsearch data: fetches training sets with apt-get download / npm pack
];

const CLIENT_MODULES = new Set([
  'undici',
  'node-fetch',
  'cross-fetch',
  'axios',
  'got',
  'ky',
  'request',
  'superagent',
  'ws',
  'http2',
  'tls',
  'dgram',
]);
/** Modules whose server half is fine; their client calls are not. */
const HTTP_MODULES = new Set(['http', 'https', 'net']);
const SERVER_NAMES = new Set([
  'isIP',
  'isIPv4',
  'isIPv6',
  'createServer',
  'Server',
  'IncomingMessage',
  'ServerResponse',
  'STATUS_CODES',
  'AddressInfo',
  'Socket',
]);
const CLIENT_GLOBALS = new Set(['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource']);
/** Words that, in a file that starts child processes, mean a download tool or verb. */
const DOWNLOAD_WORDS = new Set(['curl', 'wget', 'aria2c', 'download', 'pack', 'clone']);

const bare = (spec: string) => spec.replace(/^node:/, '');

/** What in `text` (a TypeScript source) looks like a download. */
export function downloadsIn(text: string, name = 'file.ts'): string[] {
  const sf = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const declared = new Set<string>(); // names bound in the file (a local `fetch` is not the global)
  let childProcess = false;
  const where = (n: ts.Node) => `line ${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visitDecls = (n: ts.Node): void => {
    if (
      (ts.isParameter(n) || ts.isVariableDeclaration(n) || ts.isFunctionDeclaration(n)) &&
      n.name &&
      ts.isIdentifier(n.name)
    )
      declared.add(n.name.text);
    n.forEachChild(visitDecls);
  };
  visitDecls(sf);
  const moduleUse = (spec: string, n: ts.Node, names: string[] | null) => {
    const m = bare(spec);
    if (m === 'child_process') childProcess = true;
    if (CLIENT_MODULES.has(m)) found.push(`${where(n)}: imports the client module '${spec}'`);
    if (HTTP_MODULES.has(m)) {
      const client = names === null ? ['*'] : names.filter((x) => !SERVER_NAMES.has(x));
      if (client.length) found.push(`${where(n)}: uses ${client.join(', ')} of '${spec}'`);
    }
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      let names: string[] | null = [];
      if (c && !c.isTypeOnly) {
        if (c.name) names = null; // a default import: anything may be used
        const b = c.namedBindings;
        if (b && ts.isNamespaceImport(b)) names = null;
        if (b && ts.isNamedImports(b) && names)
          for (const e of b.elements)
            if (!e.isTypeOnly) names.push((e.propertyName ?? e.name).text);
      }
      moduleUse(n.moduleSpecifier.text, n, names);
    } else if (ts.isCallExpression(n)) {
      const [arg] = n.arguments;
      const dynamic =
        n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === 'require');
      if (dynamic && arg && ts.isStringLiteral(arg)) moduleUse(arg.text, n, null);
      if (ts.isIdentifier(n.expression) && n.expression.text === 'fetch' && !declared.has('fetch'))
        found.push(`${where(n)}: calls the global fetch`);
    } else if (ts.isIdentifier(n) && CLIENT_GLOBALS.has(n.text) && n.text !== 'fetch') {
      if (!declared.has(n.text)) found.push(`${where(n)}: uses ${n.text}`);
    } else if (
      ts.isPropertyAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      ['globalThis', 'global', 'window', 'self'].includes(n.expression.text) &&
      CLIENT_GLOBALS.has(n.name.text)
    ) {
      found.push(`${where(n)}: uses ${n.expression.text}.${n.name.text}`);
    }
    n.forEachChild(visit);
  };
  visit(sf);
  if (childProcess) {
    const words = (n: ts.Node): void => {
      if (
        (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) &&
        n.text.split(/\s+/).some((w) => DOWNLOAD_WORDS.has(w))
      )
        found.push(`${where(n)}: runs a download tool ('${n.text}')`);
      n.forEachChild(words);
    };
    words(sf);
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(REPO, join(e.parentPath, e.name)).split(sep).join('/'));
}

test('nothing in the shipped code downloads except model pull and the data fetchers', () => {
  const offenders: string[] = [];
  let scanned = 0;
  for (const file of SHIPPED.flatMap(sources)) {
    if (ALLOWED.some((a) => file.startsWith(a))) continue;
    scanned++;
    for (const f of downloadsIn(readFileSync(join(REPO, file), 'utf8'), file))
      offenders.push(`${file} ${f}`);
  }
  assert.ok(scanned > 100, `scanned ${scanned} files`);
  assert.deepEqual(offenders, []);
});

test('the allowed modules are the ones that download (the scan sees them)', () => {
  const seen = (dir: string) =>
    sources(dir).filter((f) => downloadsIn(readFileSync(join(REPO, f), 'utf8'), f).length > 0);
  assert.ok(seen('src/hub').length > 0, 'model pull downloads');
  assert.ok(seen('src/data').length > 0, 'the data fetchers download');
});

test('the scan finds each kind of client and leaves servers and local names alone', () => {
  const finds = (code: string) => downloadsIn(code).length > 0;
  assert.ok(finds(`await fetch('https://example.org/x');`));
  assert.ok(finds(`await globalThis.fetch(url);`));
  assert.ok(finds(`import { get } from 'node:https'; get(url);`));
  assert.ok(finds(`import https from 'https';`));
  assert.ok(finds(`import * as http from 'node:http'; http.request(o);`));
  assert.ok(finds(`import { request } from 'node:http';`));
  assert.ok(finds(`const h = await import('node:https');`));
  assert.ok(finds(`import { fetch } from 'undici';`));
  assert.ok(finds(`const ws = new WebSocket(u);`));
  assert.ok(finds(`import { execFileSync } from 'node:child_process'; execFileSync('curl', [u]);`));
  assert.ok(finds(`import { spawn } from 'child_process'; spawn('sh', ['-c', 'wget ' + u]);`));
  assert.ok(!finds(`import { createServer, type Server } from 'node:http';`));
  assert.ok(!finds(`import type { AddressInfo } from 'node:net';`));
  assert.ok(!finds(`function f(fetch: (n: number) => number[]) { return fetch(3); }`));
  assert.ok(!finds(`const r = await store.fetch(3);`));
  assert.ok(!finds(`import { spawn } from 'node:child_process'; spawn('redis-server', []);`));
});

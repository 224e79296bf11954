/**
 * The fuzz's request generator (seeded): multipart bodies (random boundaries, parts, names, file
 * names, contents, broken framing), JSON bodies, path ids and query strings, with huge fields,
 * invalid widths, k and budgets, unicode and `..` in every string.
 */
import { Rng } from '../../src/util/rng.js';

/** Strings that make trouble: traversal, unicode, control bytes, numbers at their edges. */
const NASTY = [
  '..',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2f',
  '/etc/passwd',
  'file:///etc/passwd',
  '\u0000',
  'a\u0000b',
  '\r\nX-Injected: 1',
  '𝟙𝟘',
  'ｋ',
  'é\u0301',
  '\u202e gnp.exe',
  '🙂'.repeat(50),
  '',
  ' ',
  '-1',
  '0',
  '1',
  '10',
  '1000',
  '1001',
  '2.5',
  '1e309',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  ' 5 ',
  'true',
  'null',
  '[]',
  '{}',
  '1/4',
  '1/8',
  '1/3',
  '1/0',
  '0/1',
  'auto',
  '1/8x10,1/4x10',
  '1/4x99999',
  '1/4x-1',
  '1/8x1000000000',
  ',,,',
  'full',
  'none',
  '__proto__',
  'constructor',
];
const FIELDS = ['k', 'width', 'budget_ms', 'rerank', 'min_score', 'shortlist', 'image', 'id'];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function nastyString(rng: Rng): string {
  const r = rng.uniform();
  if (r < 0.7) return pick(rng, NASTY);
  if (r < 0.8) return 'x'.repeat(4000 + rng.int(8000)); // over the 4 kB field limit at times
  if (r < 0.9)
    return String.fromCharCode(...Array.from({ length: 1 + rng.int(40) }, () => rng.int(0x3000)));
  return `${pick(rng, NASTY)}${pick(rng, NASTY)}`;
}

export interface Req {
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

/** A well-formed form: one real image and a few known fields with nasty values. */
function nearlyValidForm(rng: Rng, files: readonly Buffer[]): { body: Buffer; type: string } {
  const b = `----fuzz${rng.nextU32().toString(16)}`;
  const parts: Buffer[] = [];
  for (let i = rng.int(4); i > 0; i--) {
    const name = pick(rng, ['k', 'width', 'budget_ms', 'rerank', 'min_score', 'shortlist']);
    parts.push(
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
      Buffer.from(rng.uniform() < 0.5 ? pick(rng, NASTY) : nastyString(rng)),
      Buffer.from('\r\n'),
    );
  }
  const name = rng.uniform() < 0.7 ? 'q.png' : nastyString(rng).slice(0, 200).replace(/"/g, '');
  parts.push(
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="image"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    files[rng.uniform() < 0.7 ? rng.int(2) : rng.int(files.length)]!,
    Buffer.from(`\r\n--${b}--\r\n`),
  );
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` };
}

function multipartBody(rng: Rng, files: readonly Buffer[]): { body: Buffer; type: string } {
  if (rng.uniform() < 0.5) return nearlyValidForm(rng, files);
  const boundary =
    rng.uniform() < 0.8 ? `----fuzz${rng.nextU32().toString(16)}` : nastyString(rng).slice(0, 70);
  const nl = rng.uniform() < 0.9 ? '\r\n' : '\n';
  const parts: Buffer[] = [];
  const n = rng.int(6);
  for (let i = 0; i < n; i++) {
    const name = rng.uniform() < 0.7 ? pick(rng, FIELDS) : nastyString(rng).slice(0, 300);
    const isFile = rng.uniform() < 0.45;
    const disp = isFile
      ? `Content-Disposition: form-data; name="${name}"; filename="${rng.uniform() < 0.5 ? 'q.png' : nastyString(rng).slice(0, 300)}"`
      : `Content-Disposition: form-data; name="${name}"`;
    const head = [
      rng.uniform() < 0.95 ? disp : `Content-Type: text/plain`,
      ...(isFile && rng.uniform() < 0.7
        ? [
            `Content-Type: ${pick(rng, ['image/png', 'text/html', 'application/octet-stream', nastyString(rng).slice(0, 50)])}`,
          ]
        : []),
    ].join(nl);
    const content = isFile ? pick(rng, files) : Buffer.from(nastyString(rng));
    parts.push(Buffer.from(`--${boundary}${nl}${head}${nl}${nl}`), content, Buffer.from(nl));
  }
  if (rng.uniform() < 0.85) parts.push(Buffer.from(`--${boundary}--${nl}`));
  let body = Buffer.concat(parts);
  if (rng.uniform() < 0.1) body = body.subarray(0, rng.int(body.length + 1)); // cut short
  const type = pick(rng, [
    `multipart/form-data; boundary=${boundary}`,
    `multipart/form-data; boundary="${boundary}"`,
    `multipart/form-data; boundary=${boundary}`,
    'multipart/form-data',
    `multipart/form-data; boundary=${pick(rng, NASTY)}`,
    `multipart/mixed; boundary=${boundary}`,
  ]);
  return { body, type };
}

function jsonValue(rng: Rng, depth = 0): unknown {
  const r = rng.uniform();
  if (depth > 3 || r < 0.35) return nastyString(rng);
  if (r < 0.6) return pick(rng, [0, -1, 1, 3, 2.5, 1e308, -1e308, 1001, 2 ** 53, 0.0001]);
  if (r < 0.7) return pick(rng, [true, false, null]);
  if (r < 0.85) return Array.from({ length: rng.int(4) }, () => jsonValue(rng, depth + 1));
  return Object.fromEntries(
    Array.from({ length: rng.int(4) }, () => [
      rng.uniform() < 0.6 ? pick(rng, FIELDS) : nastyString(rng).slice(0, 100),
      jsonValue(rng, depth + 1),
    ]),
  );
}

function jsonBody(rng: Rng): Buffer {
  const r = rng.uniform();
  if (r < 0.1) return Buffer.from('{"id": 1,');
  if (r < 0.15) return Buffer.from(`{"id": 1, "pad": "${'x'.repeat(70_000)}"}`); // over 64 kB
  if (r < 0.2)
    return Buffer.from('{"__proto__": {"k": 1}, "constructor": {"prototype": {}}, "id": 1}');
  const o: Record<string, unknown> = {};
  if (rng.uniform() < 0.6) o['id'] = rng.uniform() < 0.5 ? 1 + rng.int(12) : jsonValue(rng);
  for (let i = rng.int(5); i > 0; i--) o[pick(rng, FIELDS)] = jsonValue(rng);
  if (rng.uniform() < 0.3) o[nastyString(rng).slice(0, 100)] = jsonValue(rng);
  return Buffer.from(JSON.stringify(o));
}

/** Percent-encodes the UTF-8 bytes of `s`, all but `keep` (lone surrogates included). */
function pct(s: string, keep = /[A-Za-z0-9_.~-]/): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && keep.test(c) ? c : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A path segment: usually an id-like string, often a nasty one, percent-encoded or raw. */
function idSegment(rng: Rng): string {
  const s = rng.uniform() < 0.3 ? String(1 + rng.int(12)) : nastyString(rng).slice(0, 200);
  return rng.uniform() < 0.5 ? pct(s) : pct(s, /[\x21-\x7e]/);
}

function query(rng: Rng): string {
  const n = rng.int(4);
  const kv = Array.from({ length: n }, () => {
    const k =
      rng.uniform() < 0.7
        ? pick(rng, [
            'k',
            'rerank',
            'min_score',
            'shortlist',
            'cursor',
            'limit',
            'width',
            'k[]',
            'k[a]',
          ])
        : nastyString(rng).slice(0, 50);
    return `${pct(k)}=${pct(nastyString(rng).slice(0, 300))}`;
  });
  return n ? `?${kv.join('&')}` : '';
}

/** One random request; writes use `key` most of the time, `files` are the upload contents. */
export function randomRequest(rng: Rng, files: readonly Buffer[], key: string): Req {
  const auth: Record<string, string> =
    rng.uniform() < 0.8
      ? { authorization: `Bearer ${key}` }
      : rng.uniform() < 0.5
        ? {}
        : {
            'x-api-key': nastyString(rng)
              .slice(0, 100)
              .replace(/[\r\n\0]/g, ''),
          };
  const r = rng.uniform();
  if (r < 0.3) {
    const { body, type } = multipartBody(rng, files);
    return {
      kind: 'search (multipart)',
      method: 'POST',
      path: '/api/search',
      headers: { 'content-type': type },
      body,
    };
  }
  if (r < 0.45) {
    const type = pick(rng, [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
    ]);
    return {
      kind: 'search (JSON)',
      method: 'POST',
      path: '/api/search',
      headers: { 'content-type': type },
      body: jsonBody(rng),
    };
  }
  if (r < 0.6) {
    const { body, type } = multipartBody(rng, files);
    return {
      kind: 'upload',
      method: 'POST',
      path: '/api/images',
      headers: { 'content-type': type, ...auth },
      body,
    };
  }
  if (r < 0.7)
    return {
      kind: 'similar',
      method: 'GET',
      path: `/api/images/${idSegment(rng)}/similar${query(rng)}`,
      headers: {},
    };
  if (r < 0.8)
    return {
      kind: 'image, thumbnail, file',
      method: 'GET',
      path: `/api/images/${idSegment(rng)}${pick(rng, ['', '/thumbnail', '/file', '/file/..', '/../../../etc/passwd'])}${query(rng)}`,
      headers: {},
    };
  if (r < 0.85)
    return { kind: 'browse', method: 'GET', path: `/api/images${query(rng)}`, headers: {} };
  if (r < 0.93) {
    const body =
      rng.uniform() < 0.5
        ? jsonBody(rng)
        : Buffer.from(
            JSON.stringify({
              root: nastyString(rng),
              width: nastyString(rng),
              prune: jsonValue(rng),
            }),
          );
    return {
      kind: 'ingest',
      method: 'POST',
      path: '/api/ingest',
      headers: { 'content-type': 'application/json', ...auth },
      body,
    };
  }
  return { kind: 'delete', method: 'DELETE', path: `/api/images/${idSegment(rng)}`, headers: auth };
}

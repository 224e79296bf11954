/**
 * What the server benchmarks (load, dial) share: `matsearch serve` in a child process, keep-alive
 * HTTP clients of our own, multipart query bodies and percentiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');

export interface Server {
  readonly proc: ChildProcess;
  readonly url: string;
}

/** `matsearch serve --library LIB --model MODEL --port 0 ...extra`; resolves once it listens. */
export function startServe(lib: string, model: string, extra: readonly string[]): Promise<Server> {
  const proc = spawn(
    process.execPath,
    [CLI, 'serve', '--library', lib, '--model', model, '--port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = / at (http:\/\/\S+) /.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.stderr!.on('data', (c: Buffer) => process.stderr.write(`  serve: ${c}`));
    proc.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
  });
}

export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Keep-alive sockets the server closed just as a request went out on them (retried once). */
export const http = { staleSocketRetries: 0 };

export interface Reply {
  readonly status: number;
  readonly ms: number;
  readonly body: string;
  readonly error?: string;
}

/**
 * One request; resolves with the status (0: a network error, its code in `error`) and the
 * latency in ms. A request sent on a reused keep-alive socket that the server had just closed
 * (ECONNRESET) is sent again once, as node's http documentation advises clients to do.
 */
export function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
  o: { timeoutMs?: number; retry?: boolean } = {},
): Promise<Reply> {
  const u = new URL(path, url);
  const timeoutMs = o.timeoutMs ?? 60_000;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers, agent },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: text }),
        );
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (o.retry !== false && req.reusedSocket && err.code === 'ECONNRESET') {
        http.staleSocketRetries++;
        resolve(send(url, method, path, headers, body, { ...o, retry: false }));
        return;
      }
      resolve({ status: 0, ms: performance.now() - t0, body: '', error: err.code ?? err.message });
    });
    req.end(body);
  });
}

/** A multipart body with one PNG in the field `image` and the given text fields. */
export function multipart(
  image: Buffer,
  fields: Record<string, string>,
): { body: Buffer; type: string } {
  const b = `----bench${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(
    ([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`,
  );
  const body = Buffer.concat([
    Buffer.from(parts.join('')),
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="image"; filename="q.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    image,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${b}` };
}

/** The p-th percentile (nearest rank below), NaN for no values. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

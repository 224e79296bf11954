/**
 * A local stand-in for the Hugging Face hub, for the pull tests: node:http on 127.0.0.1 at a
 * free port, serving `/{repo}/resolve/{revision}/{file}` as the hub does. A small file (config.json)
 * is answered directly with its git blob sha1 as ETag; a large one (the .bin, stored with LFS)
 * is redirected (302) to `/cdn/...` with its sha256 in X-Linked-Etag and its size in
 * X-Linked-Size. The CDN honours Range and If-Range against its own ETag. Faults on request:
 * drop the connection after N bytes, serve corrupt bytes, forget a repo (404).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubFile {
  readonly bytes: Buffer;
  /** Stored with LFS: redirected to the CDN, identified by its sha256. */
  readonly lfs: boolean;
}

/** What each request asked for, for the tests' assertions. */
export interface Logged {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
  readonly ifRange?: string;
}

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** git's blob id: sha1 of "blob <size>\0" and the content (what the hub's ETag is for a small file). */
const gitSha1 = (b: Buffer) =>
  createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

export class FakeHub {
  readonly log: Logged[] = [];
  /** The next CDN responses: drop the connection after this many body bytes (one per GET). */
  readonly dropAfter: number[] = [];
  /** Serve LFS bodies with one byte flipped (their metadata stays right). */
  corrupt = false;
  /** Revisions answered besides 'main' and the commit. */
  readonly revisions = new Set(['main', COMMIT]);
  private server!: Server;
  /** repo id -> file name -> file. */
  readonly repos = new Map<string, Map<string, HubFile>>();

  static async start(): Promise<FakeHub> {
    const hub = new FakeHub();
    hub.server = createServer((req, res) => hub.handle(req, res));
    await new Promise<void>((r) => hub.server.listen(0, '127.0.0.1', r));
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  add(repo: string, files: Record<string, HubFile>): void {
    this.repos.set(repo, new Map(Object.entries(files)));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    this.log.push({
      method: req.method ?? '',
      path,
      ...(range ? { range } : {}),
      ...(typeof ifRange === 'string' ? { ifRange } : {}),
    });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn) return this.serveCdn(req, res, cdn[1]!);
    const m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const file = m ? this.repos.get(m[1]!)?.get(m[3]!) : undefined;
    if (!m || !file || !this.revisions.has(m[2]!)) {
      res.writeHead(404, { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'text/plain' });
      res.end('Repository not found');
      return;
    }
    const common = { 'X-Repo-Commit': COMMIT };
    if (file.lfs) {
      const sha = sha256(file.bytes);
      res.writeHead(302, {
        ...common,
        Location: `/cdn/${sha}`,
        ETag: `"${sha}"`,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(file.bytes.length),
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    res.writeHead(200, {
      ...common,
      ETag: `"${gitSha1(file.bytes)}"`,
      'Content-Length': String(file.bytes.length),
      'Content-Type': 'application/json',
    });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse, sha: string): void {
    const file = [...this.repos.values()]
      .flatMap((r) => [...r.values()])
      .find((f) => f.lfs && sha256(f.bytes) === sha);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    let body = file.bytes;
    if (this.corrupt) {
      body = Buffer.from(body);
      const mid = body.length >> 1;
      body[mid] = body[mid]! ^ 0xff;
    }
    const etag = `"cdn-${sha.slice(0, 16)}"`; // the CDN's own tag, not the sha256
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const partial = m && (ifRange === undefined || ifRange === etag);
    const start = partial ? Number(m[1]) : 0;
    if (start >= body.length && partial) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const headers: Record<string, string> = {
      ETag: etag,
      'Accept-Ranges': 'bytes',
      'Content-Length': String(body.length - start),
      'Content-Type': 'application/octet-stream',
    };
    if (partial) headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(partial ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const drop = this.dropAfter.shift();
    if (drop !== undefined) {
      // A dropped connection: part of the body, then the socket goes.
      res.write(body.subarray(start, start + drop), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  }
}

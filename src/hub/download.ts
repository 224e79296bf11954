/**
 * One file from the hub, resumable and verified. Bytes go to `<dest>.part`, beside a small
 * `<dest>.part.json` that records the checksum they belong to and the ETag of the server that
 * sent them (after a redirect, the CDN's). An interrupted transfer keeps both, and the next run
 * asks for the rest: `Range: bytes=N-` with `If-Range: <that ETag>`, so a file changed meanwhile
 * comes back whole (200) instead of spliced. The whole file is then hashed against the hub's
 * checksum: a mismatch deletes it; a match is fsynced and renamed to `dest` in one step.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename } from 'node:path';
import { HubError } from '../errors.js';
import { fileChecksum, unreachable, USER_AGENT, type HubFileMeta } from './hub-file.js';

export interface DownloadOptions {
  readonly meta: HubFileMeta;
  readonly dest: string;
  /** The hub's address, for the offline message. */
  readonly endpoint: string;
  /** Bytes so far (this run and before), the total if known, and where this run started. */
  readonly onProgress?: (done: number, total: number | null, resumedFrom: number) => void;
  /** Give up when no byte arrives for this long (default 60 s); the partial file is kept. */
  readonly stallMs?: number;
}

/** What `<dest>.part.json` records about `<dest>.part`. */
interface PartInfo {
  readonly checksum: string;
  readonly etag: string;
}

const size = (n: number) => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);

/** Where a previous run left off: the bytes to keep and the ETag to resume against. */
function resumePoint(part: string, info: string, checksum: string): PartInfo & { bytes: number } {
  try {
    const p = JSON.parse(readFileSync(info, 'utf8')) as Partial<PartInfo>;
    if (p.checksum === checksum && typeof p.etag === 'string' && p.etag && existsSync(part))
      return { checksum, etag: p.etag, bytes: statSync(part).size };
  } catch {
    // no usable record: start over
  }
  rmSync(part, { force: true });
  return { checksum, etag: '', bytes: 0 };
}

export async function download(o: DownloadOptions): Promise<void> {
  const { meta, dest } = o;
  const file = basename(dest);
  const part = `${dest}.part`;
  const info = `${dest}.part.json`;
  if (existsSync(dest) && (await verifies(dest, meta))) return; // fetched and verified before
  rmSync(dest, { force: true });
  const from = resumePoint(part, info, meta.checksum.hex);
  let have = from.bytes;
  if (meta.size === null || have < meta.size) have = await transfer(o, part, info, from);
  const size = statSync(part).size;
  if ((meta.size !== null && size !== meta.size) || !(await verifies(part, meta))) {
    rmSync(part, { force: true });
    rmSync(info, { force: true });
    throw new HubError(
      `${file} does not match the hub's ${meta.checksum.kind} (${meta.checksum.hex}` +
        `${meta.size !== null ? `, ${meta.size} bytes; got ${size}` : ''}); ` +
        'the bad file was deleted: run the same command again to download it afresh',
    );
  }
  const fd = openSync(part, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(part, dest);
  rmSync(info, { force: true });
}

async function verifies(path: string, meta: HubFileMeta): Promise<boolean> {
  const size = statSync(path).size;
  if (meta.size !== null && size !== meta.size) return false;
  return (await fileChecksum(path, meta.checksum.kind, size)) === meta.checksum.hex;
}

/** Fetches the rest of the file into `part` (following redirects); returns its size after. */
async function transfer(
  o: DownloadOptions,
  part: string,
  info: string,
  from: PartInfo & { bytes: number },
): Promise<number> {
  const { meta } = o;
  const file = basename(o.dest);
  const stall = new AbortController();
  const stallMs = o.stallMs ?? 60_000;
  let timer = setTimeout(() => stall.abort(), stallMs);
  const headers: Record<string, string> = {
    'Accept-Encoding': 'identity',
    'User-Agent': USER_AGENT,
  };
  if (from.bytes > 0) {
    headers['Range'] = `bytes=${from.bytes}-`;
    headers['If-Range'] = from.etag;
  }
  let res: Response;
  try {
    res = await fetch(meta.url, { headers, redirect: 'follow', signal: stall.signal });
  } catch (err) {
    clearTimeout(timer);
    throw stall.signal.aborted
      ? new HubError(`the hub stopped answering for ${file}; run the same command again`)
      : unreachable(o.endpoint, err);
  }
  let start: number;
  if (res.status === 206) {
    start = Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? NaN);
    if (start !== from.bytes) {
      clearTimeout(timer);
      await res.body?.cancel();
      rmSync(part, { force: true });
      throw new HubError(
        `the hub resumed ${file} at the wrong offset; the partial file was deleted, run again`,
      );
    }
  } else if (res.status === 200) {
    start = 0; // a fresh copy: the server ignored the range, or the file changed (If-Range)
  } else {
    clearTimeout(timer);
    await res.body?.cancel();
    throw new HubError(`the hub answered ${res.status} for ${file} (${res.url}); try again later`);
  }
  const etag = res.headers.get('etag') ?? '';
  writeFileSync(info, JSON.stringify({ checksum: meta.checksum.hex, etag } satisfies PartInfo));
  const total = meta.size;
  const fd = openSync(part, start === 0 ? 'w' : 'a');
  let done = start;
  o.onProgress?.(done, total, start);
  try {
    if (!res.body) throw new Error('an empty response');
    for await (const chunk of res.body) {
      writeSync(fd, chunk);
      done += chunk.length;
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), stallMs);
      o.onProgress?.(done, total, start);
    }
  } catch (err) {
    const why = stall.signal.aborted
      ? `no data for ${stallMs / 1000} s`
      : ((err as { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new HubError(
      `the download of ${file} was interrupted after ${size(done)} of ` +
        `${total !== null ? size(total) : 'an unknown size'} (${why}); the partial file is kept: ` +
        'run the same command again to resume',
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
    closeSync(fd);
  }
  return done;
}

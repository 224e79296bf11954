/**
 * The sha256 of a weights file without reading it on every start: the hash is recorded in the
 * cache folder with the file's identity (device, inode, size, mtime, ctime) and trusted while
 * that identity is unchanged. Any write to the file changes its ctime (which no tool can set
 * back), and a file replaced by rename changes its inode, so changed weights are always hashed
 * again. As in git's "racy clean" rule, a record made within RACY_MS of the file's last change
 * is not trusted: a second write in the same timestamp tick would leave the identity unchanged.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** A record younger than this, after the file's last change, is re-checked (coarse clocks). */
const RACY_MS = 2000;

interface HashRecord {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  /** When the hash was taken (before reading the file). */
  readonly recordedAtMs: number;
  readonly sha256: string;
}

/** Where the hash of `weightsPath` is recorded under `cacheDir`. */
export function hashRecordPath(cacheDir: string, weightsPath: string): string {
  const name = createHash('sha256').update(realpathSync(weightsPath)).digest('hex').slice(0, 32);
  return join(cacheDir, 'weights', `${name}.json`);
}

/** sha256 (hex) of a file's bytes, read now. */
export function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * sha256 (hex) of the weights file: the recorded one while the file is unchanged, else read and
 * hashed now (and recorded). `cacheDir` false: always hashed. A record that cannot be read or
 * written only costs the hash.
 */
export function weightsSha256Cached(path: string, cacheDir: string | false): string {
  if (cacheDir === false) return fileSha256(path);
  const st = statSync(path);
  const identity = {
    path: realpathSync(path),
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
  const recordPath = hashRecordPath(cacheDir, path);
  const rec = readRecord(recordPath);
  if (
    rec &&
    (Object.keys(identity) as (keyof typeof identity)[]).every((k) => rec[k] === identity[k]) &&
    rec.recordedAtMs - identity.ctimeMs >= RACY_MS
  )
    return rec.sha256;
  const recordedAtMs = Date.now();
  const sha256 = fileSha256(path);
  // Only when the file did not change while it was read: else the next start hashes again.
  const after = statSync(path);
  if (after.ctimeMs === st.ctimeMs && after.size === st.size)
    writeRecord(recordPath, { ...identity, recordedAtMs, sha256 });
  return sha256;
}

function readRecord(path: string): HashRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as HashRecord;
    return typeof r?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256) ? r : null;
  } catch {
    return null;
  }
}

/** Written atomically (temporary file, rename); a read-only cache is no error. */
function writeRecord(path: string, r: HashRecord): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(r));
    renameSync(tmp, path);
  } catch {
    // The hash is still right; the next start hashes again.
    try {
      rmSync(tmp, { force: true });
    } catch {
      // no folder to leave a temporary file in
    }
  }
}

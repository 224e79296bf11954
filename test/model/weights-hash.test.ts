/**
 * The recorded weights hash: trusted while the file is unchanged, never after any change to it
 * (in place at the same size, or replaced with its old mtime), and never when recorded within
 * the racy window. The oracle is node's sha256 of the file's bytes read in the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashRecordPath, weightsSha256Cached } from '../../src/model/weights-hash.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const BOGUS = 'f'.repeat(64);

/** Rewrites the record of `file` as if made `ageMs` after the file's last change, with `sha256`. */
function forgeRecord(cache: string, file: string, sha256: string, ageMs: number): void {
  const path = hashRecordPath(cache, file);
  const rec = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const ctimeMs = statSync(file).ctimeMs;
  writeFileSync(path, JSON.stringify({ ...rec, sha256, recordedAtMs: ctimeMs + ageMs }));
}

test('a recorded hash is used while the file is unchanged, and redone after any change', () => {
  const root = mkdtempSync(join(tmpdir(), 'weights-hash-'));
  try {
    const cache = join(root, 'cache');
    const file = join(root, 'model.safetensors');
    writeFileSync(file, Buffer.alloc(4096, 1));
    assert.equal(weightsSha256Cached(file, cache), sha(file));

    // Recorded long after the last change: trusted (the forged hash comes back, nothing read).
    forgeRecord(cache, file, BOGUS, 60_000);
    assert.equal(weightsSha256Cached(file, cache), BOGUS);

    // Recorded within the racy window of the last change: hashed again.
    forgeRecord(cache, file, BOGUS, 100);
    assert.equal(weightsSha256Cached(file, cache), sha(file));

    // Changed in place, same size: its ctime moved, so it is hashed again.
    forgeRecord(cache, file, BOGUS, 60_000);
    const before = statSync(file);
    writeFileSync(file, Buffer.alloc(4096, 2));
    utimesSync(file, before.atime, before.mtime); // even with its old mtime put back
    assert.equal(weightsSha256Cached(file, cache), sha(file));
    assert.notEqual(sha(file), BOGUS);

    // Replaced by another file of the same size and mtime (a rename): hashed again.
    forgeRecord(cache, file, BOGUS, 60_000);
    const next = join(root, 'next.safetensors');
    writeFileSync(next, Buffer.alloc(4096, 3));
    const st = statSync(file);
    utimesSync(next, st.atime, st.mtime);
    renameSync(next, file);
    assert.equal(weightsSha256Cached(file, cache), sha(file));

    // No cache: always read.
    assert.equal(weightsSha256Cached(file, false), sha(file));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a damaged record or an unwritable cache only costs the hash', () => {
  const root = mkdtempSync(join(tmpdir(), 'weights-hash-'));
  try {
    const file = join(root, 'model.safetensors');
    writeFileSync(file, Buffer.alloc(1000, 7));
    const cache = join(root, 'cache');
    weightsSha256Cached(file, cache);
    writeFileSync(hashRecordPath(cache, file), '{not json');
    assert.equal(weightsSha256Cached(file, cache), sha(file));

    const blocked = join(root, 'blocked');
    writeFileSync(blocked, 'a file where the cache folder should be');
    assert.equal(weightsSha256Cached(file, blocked), sha(file));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

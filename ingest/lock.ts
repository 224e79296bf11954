/**
 * One writer at a time. Exclusivity comes from the operating system: the writer holds an
 * exclusive SQLite transaction on `<lock>.db` (a POSIX record lock underneath), which the kernel
 * drops the instant its process dies, however it dies. So a crashed writer never leaves a lock
 * that needs taking over, and two processes can never both get it, even when they start at the
 * same instant after a crash. Beside it, `<lock>` holds the owner's pid, task and start time,
 * only to tell a refused writer who holds the library.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { MatsearchError } from '../src/errors.js';
import { Database } from '../src/store/sqlite.js';

export class LockedError extends MatsearchError {
  constructor(message: string) {
    super('E_LOCKED', message);
  }
}

export interface Owner {
  pid?: number;
  what?: string;
  since?: string;
}

function owner(path: string): Owner {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Owner;
  } catch {
    return {}; // not written yet by a writer that has just taken the lock, or left by a crash
  }
}

/** Who holds the lock at `path`: pid, task and start time, as far as its owner file says. */
export function lockOwner(path: string): Owner {
  return owner(path);
}

/** Takes the lock at `path` or throws LockedError at once; returns the release function. */
export function acquireLock(path: string, what: string): () => void {
  const db = new Database(`${path}.db`, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE'); // held until release; SQLITE_BUSY while another writer holds it
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
    // A holder that took the lock a moment ago may not have written its owner file yet (two
    // processes started together, a busy machine): give it up to a second to name itself.
    let o = owner(path);
    for (let i = 0; i < 50 && o.pid === undefined; i++) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      o = owner(path);
    }
    throw new LockedError(
      `another matsearch process (${o.pid ? `pid ${o.pid}, ` : ''}${o.what ?? 'writing'} since ${o.since ?? '?'}) is writing to this library; wait for it or stop it`,
    );
  }
  try {
    writeFileSync(
      path,
      JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }),
    );
  } catch {
    // Only the refusal message needs it: a full disk is reported by the writes that matter.
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    rmSync(path, { force: true });
    db.exec('ROLLBACK');
    db.close();
  };
}

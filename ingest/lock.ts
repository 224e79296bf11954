/**
 * One writer at a time: an exclusive lock file with the owner's pid. A lock left by a dead
 * process (kill -9, power cut) is taken over; a live owner makes the second writer stop with a
 * message that says who holds it.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { MatsearchError } from '../src/errors.js';
import { processAlive } from '../src/util/pid.js';

export class LockedError extends MatsearchError {
  constructor(message: string) {
    super('E_LOCKED', message);
  }
}

/** Takes the lock at `path`; returns the release function. */
export function acquireLock(path: string, what: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: { pid?: number; what?: string; since?: string } = {};
      try {
        owner = JSON.parse(readFileSync(path, 'utf8')) as typeof owner;
      } catch {
        // a half-written lock from a crash: treat as stale
      }
      if (owner.pid && owner.pid !== process.pid && processAlive(owner.pid)) {
        throw new LockedError(
          `another matsearch process (pid ${owner.pid}, ${owner.what ?? 'writing'} since ${owner.since ?? '?'}) is writing to this library; wait for it or stop it`,
        );
      }
      rmSync(path, { force: true }); // stale: its owner is gone
    }
  }
  throw new LockedError(`could not take the library lock ${path}`);
}

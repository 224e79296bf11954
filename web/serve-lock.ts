/**
 * One server per library. Two servers on the same library would each sweep the other's
 * in-flight uploads as orphans at start; so a server holds `serve.lock` (the same OS-level lock as
 * the writer lock, ingest/lock.ts) while it runs, and a second one is refused. Servers in one
 * process over the same folder share the hold (the tests start several on one Library).
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, LockedError, lockOwner } from '../ingest/lock.js';

const held = new Map<string, { release: () => void; users: number }>();

/**
 * Takes this process's hold on serving the library in `dir`; `first` is true for the first
 * holder (who may sweep what dead servers left). Throws LockedError when another process serves it.
 */
export function holdServing(dir: string): { first: boolean; release: () => void } {
  const key = realpathSync(dir);
  let h = held.get(key);
  const first = h === undefined;
  if (!h) {
    const path = join(key, 'serve.lock');
    let release: () => void;
    try {
      release = acquireLock(path, 'serving');
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
      const o = lockOwner(path);
      throw new LockedError(
        `another matsearch server (${o.pid ? `pid ${o.pid}, ` : ''}since ${o.since ?? '?'}) is serving this library; stop it first, or serve another library`,
      );
    }
    h = { release, users: 0 };
    held.set(key, h);
  }
  h.users++;
  const hold = h;
  let done = false;
  return {
    first,
    release: () => {
      if (done) return;
      done = true;
      if (--hold.users > 0) return;
      held.delete(key);
      hold.release();
    },
  };
}

/**
 * Errors that are the machine's fault, not a file's: a full disk, a failing database, too many
 * open files. An ingest stops on them (the next run resumes) instead of recording the file it
 * happened to be handling as a bad image, which would skip that file for good.
 */
import { MatsearchError } from '../src/errors.js';

/** The library's disk (or quota) is full: nothing was lost; free space and run again. */
export class DiskFullError extends MatsearchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DISK_FULL', message, options);
  }
}

// SQLITE_IOERR_SHMSIZE: the WAL index (-shm) could not grow, which on a full disk is the error
// SQLite gives when it opens or grows a library.
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE']);
const RESOURCE = new Set(['EROFS', 'EMFILE', 'ENFILE', 'ENOMEM']);

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** True for an error that must stop the run rather than be blamed on the current file. */
export function isFatal(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  const code = codeOf(err);
  return (
    DISK_FULL.has(code) ||
    RESOURCE.has(code) ||
    code.startsWith('SQLITE_') ||
    (err as Error | null)?.name === 'SqliteError'
  );
}

/** True for an error that means the disk (or quota) is full. */
export function isDiskFull(err: unknown): boolean {
  return err instanceof DiskFullError || DISK_FULL.has(codeOf(err));
}

/**
 * A full disk as a DiskFullError with a message that says what to do (`what`: the command to run
 * again); anything else as is.
 */
export function explainFatal(err: unknown, libraryDir: string, what = 'the ingest'): unknown {
  if (err instanceof DiskFullError || !isDiskFull(err)) return err;
  const detail = String((err as Error).message ?? err).split('\n')[0];
  return new DiskFullError(
    `the disk holding the library ${libraryDir} is full (${detail}); what was written before is intact: free some space and run ${what} again to resume`,
    { cause: err },
  );
}

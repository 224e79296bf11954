/** The error a file that is not a usable image fails with (shared by the decoder processes). */
import { MatsearchError } from '../src/errors.js';
import type { FailureLimit } from '../src/store/store.js';

/**
 * A file that is not a usable image; the message is stored with the file and shown to users.
 * `limit` is set when a limit refused it (the file may be fine): raising the limit retries it.
 */
export class DecodeError extends MatsearchError {
  readonly limit: FailureLimit | null;
  constructor(message: string, options?: { cause?: unknown; limit?: FailureLimit }) {
    super('E_DECODE', message, options);
    this.limit = options?.limit ?? null;
  }
}

/** The message of a decode that ran past `timeoutMs` (the same wherever it ran). */
export function timeoutError(timeoutMs: number): DecodeError {
  return new DecodeError(
    `decoding took over ${timeoutMs} ms and was abandoned (the decode timeout; raise it to allow slow images)`,
    { limit: { kind: 'timeout', value: timeoutMs } },
  );
}

export function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/**
 * A decoder process of the pool (decode-pool.ts): decodes the files its parent sends, one at a
 * time, and answers each. It ends with its parent: when the IPC channel closes (the parent
 * exited, or was killed) it exits at once, whatever libvips is doing.
 */
import { DecodeError, firstLine } from './decode-error.js';
import { decodeFrame } from './decode-frame.js';
import type { DecodeAnswer, DecodeJob } from './decode-pool.js';

if (process.send) {
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true } satisfies DecodeAnswer);
  process.on('message', (job: DecodeJob) => {
    decodeFrame(job.bytes, job.o, job.thumb).then(
      (frame) => process.send!({ id: job.id, ok: true, frame } satisfies DecodeAnswer),
      (err: unknown) =>
        process.send!({
          id: job.id,
          ok: false,
          message: firstLine(err),
          decode: err instanceof DecodeError,
          limit: err instanceof DecodeError ? err.limit : null,
        } satisfies DecodeAnswer),
    );
  });
}

/**
 * Decoder processes for decodes that can be slow (big, interlaced or vector images): a decode
 * that passes its timeout has its process SIGKILLed and replaced, so libvips' threads really
 * stop; its timeout alone cannot stop a loader that reads the whole frame first. Processes are
 * started when first needed and kept; an idle one does not keep this process alive, and all are
 * killed when it exits (and end by themselves if it is killed: see decode-child.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DecodeError, timeoutError } from './decode-error.js';
import type { FailureLimit } from '../src/store/store.js';
import type { Frame, FrameOptions } from './decode-frame.js';

const CHILD = fileURLToPath(new URL('./decode-child.js', import.meta.url));

export interface DecodeJob {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly o: FrameOptions;
  readonly thumb: boolean;
}

/** A decoder's answer to a job, or (once, first) that it is loaded. */
export type DecodeAnswer =
  | { readonly ready: true }
  | { readonly id: number; readonly ok: true; readonly frame: Frame }
  | {
      readonly id: number;
      readonly ok: false;
      readonly message: string;
      /** Whether it was a DecodeError (else an unexpected failure, shown as its first line). */
      readonly decode: boolean;
      readonly limit: FailureLimit | null;
    };

interface Pending {
  readonly job: DecodeJob;
  readonly resolve: (f: Frame) => void;
  readonly reject: (e: Error) => void;
}

interface Decoder {
  readonly proc: ChildProcess;
  pending: Pending | null;
  /** Loaded (sharp and all): a decode's time counts from when its decoder is ready. */
  ready: boolean;
  timer?: NodeJS.Timeout;
}

export class DecodePool {
  private readonly decoders = new Set<Decoder>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private exitHook = false;

  constructor(readonly size: number) {}

  /** Decodes in a decoder process, within `o.timeoutMs` of its start there (0: no limit). */
  decode(bytes: Uint8Array, o: FrameOptions, thumb: boolean): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, bytes, o, thumb }, resolve, reject });
      this.dispatch();
    });
  }

  /** Process ids of the decoders now decoding a file (tests watch them). */
  busyPids(): number[] {
    return [...this.decoders].filter((d) => d.pending).map((d) => d.proc.pid!);
  }

  /** Kills every decoder; what they were decoding fails. The pool can be used again after. */
  close(): void {
    const closed = () => new DecodeError('the decoders were closed (the process is ending)');
    for (const p of this.queue.splice(0)) p.reject(closed());
    for (const d of [...this.decoders]) this.end(d, closed());
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let d = [...this.decoders].find((x) => !x.pending);
      if (!d) {
        if (this.decoders.size >= this.size) return;
        d = this.start();
      }
      const p = this.queue.shift()!;
      d.pending = p;
      d.proc.ref();
      d.proc.channel?.ref();
      d.proc.send(p.job);
      if (d.ready) this.startTimer(d);
    }
  }

  private startTimer(d: Decoder): void {
    const ms = d.pending?.job.o.timeoutMs ?? 0;
    if (ms > 0) d.timer = setTimeout(() => this.end(d, timeoutError(ms)), ms);
  }

  private start(): Decoder {
    if (!this.exitHook) {
      this.exitHook = true;
      process.once('exit', () => this.close());
    }
    const proc = fork(CHILD, [], {
      execArgv: [], // not the parent's flags (a test runner's, an inspector port)
      serialization: 'advanced', // buffers and typed arrays as they are
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const d: Decoder = { proc, pending: null, ready: false };
    this.decoders.add(d);
    proc.on('message', (a: DecodeAnswer) => {
      if ('ready' in a) {
        d.ready = true;
        return this.startTimer(d);
      }
      const p = d.pending;
      if (!p || p.job.id !== a.id) return;
      this.idle(d);
      if (a.ok)
        p.resolve({
          input: a.frame.input,
          ...(a.frame.thumbnail ? { thumbnail: Buffer.from(a.frame.thumbnail) } : {}),
        });
      else
        p.reject(
          new DecodeError(a.decode ? a.message : `could not decode: ${a.message}`, {
            ...(a.limit ? { limit: a.limit } : {}),
          }),
        );
      this.dispatch();
    });
    proc.on('exit', (code, signal) =>
      this.end(
        d,
        new DecodeError(
          `the decoder process ended (${signal ?? `exit ${code}`}) while decoding this file`,
        ),
      ),
    );
    proc.on('error', (err) => this.end(d, new DecodeError(`decoder process: ${err.message}`)));
    this.idle(d);
    return d;
  }

  /** Marks `d` free; a free decoder does not hold this process open. */
  private idle(d: Decoder): void {
    clearTimeout(d.timer);
    d.pending = null;
    d.proc.unref();
    d.proc.channel?.unref();
  }

  /** Kills `d` (if it still runs), fails what it was decoding, and lets a new one start. */
  private end(d: Decoder, err: Error): void {
    if (!this.decoders.delete(d)) return;
    clearTimeout(d.timer);
    const p = d.pending;
    d.pending = null;
    d.proc.removeAllListeners('message');
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
    d.proc.unref();
    d.proc.channel?.unref();
    p?.reject(err);
    this.dispatch();
  }
}

/**
 * The process-wide pool: as many decoders as files an ingest decodes at once (4), so that slow
 * files time out together rather than queueing behind each other; more on a machine with more.
 */
export const decodePool = new DecodePool(Math.max(4, Math.min(8, availableParallelism())));

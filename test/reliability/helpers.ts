/**
 * Shared pieces of the reliability tests: the small corpus and model they run on, child
 * processes that report JSON events on stdout, and the figures each test reports (printed as one
 * line, and written as JSON under $MATSEARCH_RELIABILITY_OUT for docs/RELIABILITY.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Embedder } from '../../src/embed/embedder.js';
import type { WidthSpec } from '../../src/model/nesting.js';
import { TfjsEmbedder } from '../../src/embed/tfjs-embedder.js';
import { loadModel } from '../../src/model/weights.js';
import { saveTestModel, writeImages } from '../ingest/fixtures.js';

/** Prints the figures of one test and keeps them for docs/RELIABILITY.md. */
export function reportFigures(name: string, figures: Record<string, unknown>): void {
  console.log(`reliability ${name}: ${JSON.stringify(figures)}`);
  const out = process.env['MATSEARCH_RELIABILITY_OUT'];
  if (!out) return;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), JSON.stringify({ name, ...figures }, null, 2) + '\n');
}

/** The small random encoder of the ingest tests, saved to `dir` and loaded for this process. */
export async function testEmbedder(dir: string): Promise<{ modelDir: string; embedder: Embedder }> {
  const modelDir = saveTestModel(dir);
  return { modelDir, embedder: await loadEmbedder(modelDir) };
}

/** The encoder saved in `modelDir` (tfjs, in this process). */
export async function loadEmbedder(modelDir: string): Promise<Embedder> {
  const { model, modelId } = loadModel(modelDir);
  return TfjsEmbedder.create(model, modelId);
}

/**
 * An encoder that waits `ms` (or what `ms(width)` says at the time) before each batch: keeps a run
 * long enough to interrupt, or requests in flight.
 */
export function delayed(inner: Embedder, ms: number | ((width: WidthSpec) => number)): Embedder {
  const wait = typeof ms === 'number' ? () => ms : ms;
  return {
    modelId: inner.modelId,
    dim: inner.dim,
    inputSize: inner.inputSize,
    inputChannels: inner.inputChannels,
    widthLabel: (w) => inner.widthLabel(w),
    widthRank: (w) => inner.widthRank(w),
    async embed(inputs, width) {
      const w = wait(width);
      if (w > 0) await new Promise((r) => setTimeout(r, w));
      return inner.embed(inputs, width);
    },
    close: () => inner.close(),
  };
}

/**
 * A small folder like a real one: `n` distinct images (PNG, JPEG, WebP) in two sub-folders, an
 * exact copy of one, and four bad files. Returns the folder.
 */
export async function writeCorpus(dir: string, n: number, seed: number): Promise<string> {
  const a = await writeImages(join(dir, 'a'), Math.ceil(n / 2), seed, 'a');
  await writeImages(join(dir, 'b'), Math.floor(n / 2), seed + 1, 'b');
  copyFileSync(a[0]!, join(dir, 'b', 'copy-of-a0.png'));
  const png = await sharp({
    create: { width: 32, height: 32, channels: 3, background: '#3366aa' },
  })
    .png()
    .toBuffer();
  mkdirSync(join(dir, 'bad'), { recursive: true });
  writeFileSync(join(dir, 'bad', 'truncated.png'), png.subarray(0, png.length >> 1));
  writeFileSync(join(dir, 'bad', 'empty.jpg'), Buffer.alloc(0));
  writeFileSync(join(dir, 'bad', 'text.webp'), 'not an image\n');
  writeFileSync(join(dir, 'bad', 'zeros.gif'), Buffer.alloc(512));
  return dir;
}

/** A JSON event a child process printed. */
export interface ChildEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/** A child process whose stdout lines are JSON events. */
export class Child {
  /** Children still running: a failed test must not leave one behind (nor hang on it). */
  static readonly live = new Set<Child>();
  readonly events: ChildEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { event: string; resolve: (e: ChildEvent) => void }[] = [];

  constructor(
    readonly proc: ChildProcess,
    readonly startedAt = performance.now(),
  ) {
    let buf = '';
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as ChildEvent;
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => (w.event === e.event ? w.resolve(e) : true));
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (c: string) => (this.stderr += c));
    // 'close', not 'exit': by then every line the child printed has been read.
    this.exited = new Promise((resolve) =>
      proc.once('close', (code, signal) => {
        Child.live.delete(this);
        resolve({ code, signal });
      }),
    );
    Child.live.add(this);
  }

  /** Kills every child still running (call from `after`). */
  static async killAll(): Promise<void> {
    await Promise.all([...Child.live].map((c) => c.kill()));
  }

  /** Starts `script` (a .js file beside the tests) with node and a JSON argument. */
  static start(script: string, arg: unknown, env: NodeJS.ProcessEnv = {}): Child {
    const proc = spawn(process.execPath, [script, JSON.stringify(arg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    return new Child(proc);
  }

  /** The first event named `event` (already printed, or the next one). */
  wait(event: string, timeoutMs = 60_000): Promise<ChildEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no '${event}' from the child in ${timeoutMs} ms: ${this.stderr}`)),
        timeoutMs,
      );
      this.waiters.push({
        event,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`the child exited before '${event}': ${this.stderr}`));
      });
    });
  }

  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

/** A test file's sibling script in dist/. */
export const script = (name: string): string =>
  fileURLToPath(new URL(`./${name}`, import.meta.url));

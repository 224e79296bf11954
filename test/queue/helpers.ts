/** Queue test helpers: `matsearch worker` child processes, and a library's content to compare. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Library } from '../../src/library.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A `matsearch worker` process; `ready` resolves once it takes jobs. */
export class WorkerProcess {
  readonly proc: ChildProcess;
  stderr = '';
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [cli, 'worker', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.exited = new Promise((r) => this.proc.once('exit', (code, signal) => r({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      this.proc.stderr!.on('data', (b: Buffer) => {
        this.stderr += b.toString();
        if (/ ready: queue /.test(this.stderr)) resolve();
      });
      void this.exited.then(({ code }) =>
        reject(new Error(`worker exited (${code}) before it was ready:\n${this.stderr}`)),
      );
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.proc.kill(signal);
  }
}

/** Waits until `check` holds, asking every `everyMs` (for states only a poll can see). */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 60_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface LibrarySnapshot {
  /** path -> content hash */
  readonly paths: Map<string, string>;
  /** content hash -> its one vector */
  readonly vectors: Map<string, Float32Array>;
  /** failed paths -> error */
  readonly failures: Map<string, string>;
  readonly images: number;
}

export function snapshot(lib: Library, roots: readonly string[]): LibrarySnapshot {
  const s = lib.store;
  const paths = new Map<string, string>();
  const vectors = new Map<string, Float32Array>();
  for (const img of s.listImages(0, 1e9)) {
    for (const p of s.pathsOf(img.id)) paths.set(p, img.hash);
    const sets = [...s.widestEmbeddingsOf(img.id, lib.embedder.modelId)];
    assert.equal(sets.length, 1, `image ${img.id} has ${sets.length} vectors`);
    vectors.set(img.hash, sets[0]!.vector);
  }
  const failures = new Map<string, string>();
  for (const root of roots) for (const f of s.failuresUnder(root)) failures.set(f.path, f.error);
  return { paths, vectors, failures, images: s.imageCount() };
}

/** Same images at the same paths, same failed files, vectors equal within `tol` per component. */
export function assertSameLibrary(got: LibrarySnapshot, want: LibrarySnapshot, tol: number): void {
  assert.equal(got.images, want.images);
  assert.deepEqual(new Map([...got.paths].sort()), new Map([...want.paths].sort()));
  // The same failures with the same kind of error. Only the text before the first ':' is
  // compared: libvips keeps an error buffer per thread, so its detail can carry an earlier
  // failure's words ("cannot decode image data: vipspng: ...") in one process and not another.
  const kinds = (m: Map<string, string>) =>
    new Map([...m].sort().map(([path, error]) => [path, error.split(':')[0]]));
  assert.deepEqual(kinds(got.failures), kinds(want.failures));
  for (const [hash, v] of want.vectors) {
    const w = got.vectors.get(hash);
    assert.ok(w, `missing vector for ${hash}`);
    let diff = 0;
    for (let i = 0; i < v.length; i++) diff = Math.max(diff, Math.abs(v[i]! - w[i]!));
    assert.ok(diff < tol, `vector of ${hash} differs by ${diff}`);
  }
}

/**
 * Exact cosine search by scanning every vector: the oracle for the ANN recall tests, and the
 * index used below a few thousand vectors, where a scan is both faster and exact.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NotOpenError, ShapeError, WeightsFormatError } from '../src/errors.js';
import { normalized, tempPath, type SearchHits, type VectorIndex } from './vector-index.js';

const MAGIC = 'MSBF1';

export class BruteForceIndex implements VectorIndex {
  readonly kind = 'exact';
  private data: Float32Array;
  private slotLabel: number[] = [];
  private labelSlot = new Map<number, number>();
  private closed = false;

  constructor(
    readonly dim: number,
    capacity = 1024,
  ) {
    this.data = new Float32Array(Math.max(1, capacity) * dim);
  }

  get size(): number {
    return this.slotLabel.length;
  }

  private check(v?: Float32Array) {
    if (this.closed) throw new NotOpenError('the index is closed');
    if (v && v.length !== this.dim)
      throw new ShapeError(`vector has ${v.length} dims, the index holds ${this.dim}`);
  }

  add(label: number, vector: Float32Array): void {
    this.check(vector);
    let slot = this.labelSlot.get(label);
    if (slot === undefined) {
      slot = this.slotLabel.length;
      if ((slot + 1) * this.dim > this.data.length) {
        const bigger = new Float32Array(this.data.length * 2);
        bigger.set(this.data);
        this.data = bigger;
      }
      this.slotLabel.push(label);
      this.labelSlot.set(label, slot);
    }
    this.data.set(normalized(vector), slot * this.dim);
  }

  remove(label: number): boolean {
    this.check();
    const slot = this.labelSlot.get(label);
    if (slot === undefined) return false;
    const last = this.slotLabel.length - 1;
    if (slot !== last) {
      // Move the last vector into the hole so the live slots stay dense.
      this.data.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
      const moved = this.slotLabel[last]!;
      this.slotLabel[slot] = moved;
      this.labelSlot.set(moved, slot);
    }
    this.slotLabel.pop();
    this.labelSlot.delete(label);
    return true;
  }

  has(label: number): boolean {
    this.check();
    return this.labelSlot.has(label);
  }

  labels(): number[] {
    this.check();
    return [...this.slotLabel];
  }

  /** The stored (unit) vector of a label. */
  vector(label: number): Float32Array | undefined {
    const slot = this.labelSlot.get(label);
    return slot === undefined ? undefined : this.data.slice(slot * this.dim, (slot + 1) * this.dim);
  }

  vectors(labels: readonly number[]): (Float32Array | undefined)[] {
    this.check();
    return labels.map((l) => this.vector(l));
  }

  search(query: Float32Array, k: number, filter?: (label: number) => boolean): SearchHits {
    this.check(query);
    const q = normalized(query);
    const d = this.dim;
    const n = this.slotLabel.length;
    const best: { label: number; score: number }[] = [];
    for (let s = 0; s < n; s++) {
      const label = this.slotLabel[s]!;
      if (filter && !filter(label)) continue;
      let score = 0;
      const o = s * d;
      for (let i = 0; i < d; i++) score += q[i]! * this.data[o + i]!;
      if (best.length === k && score <= best[k - 1]!.score) continue;
      let pos = best.length === k ? k - 1 : best.length;
      while (pos > 0 && best[pos - 1]!.score < score) pos--;
      best.splice(pos, 0, { label, score });
      if (best.length > k) best.pop();
    }
    return { labels: best.map((b) => b.label), scores: best.map((b) => b.score) };
  }

  save(path: string): void {
    this.check();
    const n = this.slotLabel.length;
    const labels = Buffer.from(Float64Array.from(this.slotLabel).buffer);
    const vecs = Buffer.from(this.data.buffer, 0, n * this.dim * 4);
    const sha256 = createHash('sha256').update(labels).update(vecs).digest('hex');
    const header = Buffer.from(JSON.stringify({ magic: MAGIC, dim: this.dim, n, sha256 }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    writeFileSync(tempPath(path), Buffer.concat([len, header, labels, vecs]));
    renameSync(tempPath(path), path);
  }

  static load(path: string): BruteForceIndex {
    const buf = readFileSync(path);
    let h: { magic: string; dim: number; n: number; sha256?: string };
    try {
      h = JSON.parse(buf.subarray(4, 4 + buf.readUInt32LE(0)).toString('utf8')) as typeof h;
    } catch (err) {
      throw new WeightsFormatError(`${path}: not an exact-index file`, { cause: err });
    }
    const start = 4 + buf.readUInt32LE(0);
    if (h.magic !== MAGIC || buf.length !== start + h.n * 8 + h.n * h.dim * 4) {
      throw new WeightsFormatError(`${path}: exact-index file is truncated or not ours`);
    }
    if (h.sha256 && createHash('sha256').update(buf.subarray(start)).digest('hex') !== h.sha256)
      throw new WeightsFormatError(`${path}: checksum mismatch (the file was damaged)`);
    const idx = new BruteForceIndex(h.dim, h.n);
    const labels = new Float64Array(
      buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + h.n * 8),
    );
    const vecs = new Float32Array(
      buf.buffer.slice(buf.byteOffset + start + h.n * 8, buf.byteOffset + buf.length),
    );
    idx.data.set(vecs);
    idx.slotLabel = Array.from(labels);
    idx.slotLabel.forEach((l, s) => idx.labelSlot.set(l, s));
    return idx;
  }

  close(): void {
    this.closed = true;
    this.data = new Float32Array(0);
    this.slotLabel = [];
    this.labelSlot.clear();
  }
}

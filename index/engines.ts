/**
 * The index kinds a library can hold, made and loaded by name: the one place that maps a kind to
 * its class, used by `LibraryIndex` in-process and by the index worker thread alike.
 */
import { ValidationError } from '../src/errors.js';
import { BruteForceIndex } from './brute-force.js';
import { HnswIndex, type HnswParams } from './hnsw.js';
import { UsearchIndex, type UsearchParams, type UsearchScalar } from './usearch.js';
import type { VectorIndex } from './vector-index.js';

/** A saved index's kind (also its file extension). */
export type IndexKind = 'exact' | 'hnsw' | 'usearch';
export const INDEX_KINDS: readonly IndexKind[] = ['exact', 'hnsw', 'usearch'];

/** The approximate engine a library uses above its exact-scan threshold. */
export type AnnEngine = 'hnswlib' | 'usearch';
export const ANN_ENGINES: Record<AnnEngine, IndexKind> = { hnswlib: 'hnsw', usearch: 'usearch' };

/** What to build: plain data, so it can be posted to a worker. */
export interface IndexSpec {
  readonly kind: IndexKind;
  readonly dim: number;
  /** Expected vector count (exact and hnsw preallocate; usearch grows by itself). */
  readonly capacity: number;
  readonly hnsw?: Partial<HnswParams>;
  readonly usearch?: Partial<UsearchParams>;
}

export function isIndexKind(x: unknown): x is IndexKind {
  return INDEX_KINDS.includes(x as IndexKind);
}

export function createIndex(spec: IndexSpec): VectorIndex {
  const capacity = Math.max(1024, spec.capacity);
  switch (spec.kind) {
    case 'exact':
      return new BruteForceIndex(spec.dim, capacity);
    case 'hnsw':
      return HnswIndex.create(spec.dim, spec.hnsw ?? {}, capacity);
    case 'usearch':
      return UsearchIndex.create(spec.dim, spec.usearch ?? {});
    default:
      throw new ValidationError(`unknown index kind ${String(spec.kind)}`);
  }
}

/** Loads a saved index; WeightsFormatError when it is missing or damaged. */
export function loadIndex(kind: IndexKind, path: string): VectorIndex {
  switch (kind) {
    case 'exact':
      return BruteForceIndex.load(path);
    case 'hnsw':
      return HnswIndex.load(path);
    case 'usearch':
      return UsearchIndex.load(path);
    default:
      throw new ValidationError(`unknown index kind ${String(kind)}`);
  }
}

/** Every file an index of `kind` saved at `path` occupies (the index and its sidecars). */
export function indexFiles(kind: IndexKind, path: string): string[] {
  return kind === 'exact' ? [path] : [path, `${path}.json`, `${path}.labels`];
}

/** A library's coarse-stage choice: `hnswlib`, or `usearch` with its stored scalar kind. */
export interface CoarseChoice {
  readonly engine: AnnEngine;
  readonly usearch?: { readonly quantization: UsearchScalar };
}

export const COARSE_KINDS = ['hnswlib', 'usearch', 'usearch:f16', 'usearch:i8', 'usearch:b1'];

/** Parses `hnswlib`, `usearch` or `usearch:f32|f16|i8|b1`. */
export function parseCoarse(spec: string): CoarseChoice {
  const [engine, scalar] = spec.split(':') as [string, string | undefined];
  if (!Object.hasOwn(ANN_ENGINES, engine))
    throw new ValidationError(
      `coarse index '${spec}': the engine must be hnswlib or usearch (one of ${COARSE_KINDS.join(', ')})`,
    );
  if (scalar === undefined) return { engine: engine as AnnEngine };
  if (engine !== 'usearch' || !['f32', 'f16', 'i8', 'b1'].includes(scalar))
    throw new ValidationError(
      `coarse index '${spec}': only usearch takes a scalar kind (f32, f16, i8 or b1)`,
    );
  return { engine: 'usearch', usearch: { quantization: scalar as UsearchScalar } };
}

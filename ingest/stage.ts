/**
 * The pluggable middle of an ingest run: content new to the library goes in, embedded images come
 * out through the run's writer. The pipeline (pipeline.ts) walks, skips what is unchanged, reads
 * and hashes; a stage decodes and embeds:
 *   - `localStage` (local-stage.ts): in this process, batch by batch (the default);
 *   - `queuedStage` (queue/producer.ts): as BullMQ jobs on Redis, done by `matsearch worker`s.
 * Either way every result is stored by the same IngestWriter (writer.ts), so a queued ingest has
 * the local one's transactions and crash safety.
 */
import type { Embedder } from '../src/embed/embedder.js';
import type { WidthSpec } from '../src/model/nesting.js';
import type { DecodeOptions } from './decode.js';
import type { FoundFile } from './walk.js';
import type { IngestWriter } from './writer.js';

/** A file whose content the library has no vector for: read and hashed, not yet decoded. */
export interface NewContent {
  readonly file: FoundFile;
  /** sha256 of the bytes, hex: the key of the library's images. */
  readonly hash: string;
  readonly bytes: Buffer;
}

/** One image ready to store: metadata, thumbnail and vector, and the paths that hold it. */
export interface EmbeddedImage {
  readonly hash: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly format: string;
  /** WebP bytes (named by hash under the library's thumbs/). */
  readonly thumbnail: Buffer;
  /** Unit vector, d_model wide. */
  readonly vector: Float32Array;
  /** Every file of this run with this content (usually one). */
  readonly files: readonly FoundFile[];
}

/** What a stage is given for one run. */
export interface StageEnv {
  readonly embedder: Embedder;
  readonly width: WidthSpec;
  /** Canonical label of `width` for this model. */
  readonly widthLabel: string;
  readonly decode: DecodeOptions;
  /** Images per write (and, locally, per encoder call). */
  readonly batch: number;
  readonly writer: IngestWriter;
  readonly signal?: AbortSignal;
  readonly log: (msg: string) => void;
}

export interface EmbedStage {
  /** Takes new content; called for several files at once (the run's read concurrency). */
  submit(item: NewContent): Promise<void>;
  /** Called after each group of files: where a stage starts a batch or applies back-pressure. */
  settle(): Promise<void>;
  /** After the last file: resolves once everything submitted is written or recorded as failed. */
  finish(): Promise<void>;
  /** Frees what the stage holds (connections); idempotent, also after a failure. */
  close(): Promise<void>;
  /** True once a background step failed: the run stops and `finish` rethrows the error. */
  readonly failed: boolean;
  /** Files handed to others (workers) and not yet written or failed, for progress. */
  readonly pending: number;
}

export type StageFactory = (env: StageEnv) => Promise<EmbedStage>;

/**
 * What every route gets: the library, the resolved options, the two gates (searches; writes),
 * the ingest jobs and the metrics. Routers take only this, never globals.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MatsearchError } from '../src/errors.js';
import type { Library } from '../src/library.js';
import { checkApiKey } from './auth.js';
import { badRequest } from './errors.js';
import { isInside } from './files.js';
import { IngestJobs } from './jobs.js';
import { Gate } from './limits.js';
import { Metrics } from './metrics.js';
import { BackgroundRefiner, type RefinerOptions } from './refiner.js';
import { UPLOAD_DEFAULTS, type UploadLimits } from './uploads.js';

export interface ApiOptions {
  /** Write routes (upload, delete, ingest) need this key when it is set. */
  readonly apiKey?: string;
  /**
   * Folders POST /api/ingest may ingest and originals may be served from (plus the uploads
   * folder). Default: the roots recorded in the library by earlier ingests.
   */
  readonly roots?: readonly string[];
  /** Searches (decode + encode + search) running at once (default 2). */
  readonly concurrency?: number;
  /** Requests waiting for a slot before the server answers 503 (default 32). */
  readonly maxQueue?: number;
  /**
   * A server-wide latency target (ms): a search that names no width, or width 'auto' without
   * budget_ms, gets the widest width expected within it, the search queue included.
   */
  readonly targetMs?: number;
  /**
   * Refine narrow vectors to full width while idle (web/refiner.ts), at most this share of the
   * time; off unless given (the CLI's serve turns it on).
   */
  readonly backgroundRefine?: RefinerOptions;
  /** Origins allowed to call the API from a browser ('*' for any). Default none: CORS off. */
  readonly cors?: readonly string[];
  /**
   * Host names served besides localhost and IP addresses (web/guards.ts): `name`, `.domain` for
   * it and its subdomains, `*` for any. A request under another name is refused (403).
   */
  readonly allowedHosts?: readonly string[];
  /** The interface the server is bound to; a name given there is served too. */
  readonly bindHost?: string;
  readonly limits?: Partial<UploadLimits>;
  /** Serve the web UI (web/ui/) at `/` (default true). */
  readonly ui?: boolean;
  /** Where failures are logged (default stderr). */
  readonly log?: (msg: string) => void;
}

export interface ApiContext {
  readonly library: Library;
  readonly apiKey: string | undefined;
  readonly limits: UploadLimits;
  readonly gates: { readonly search: Gate; readonly write: Gate };
  readonly jobs: IngestJobs;
  readonly metrics: Metrics;
  /** The server-wide latency target for automatic widths (ms), if any. */
  readonly targetMs: number | undefined;
  /** Background refinement of narrow vectors, when on. */
  readonly refiner: BackgroundRefiner | null;
  /** Uploaded files live here, inside the library folder. */
  readonly uploadsDir: string;
  readonly startedAt: number;
  /** Folders an ingest may cover: the configured roots, else the recorded folder roots. */
  ingestRoots(): string[];
  /** Folders (or single-file roots) originals may be served from. */
  fileRoots(): string[];
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

export function makeContext(library: Library, o: ApiOptions = {}): ApiContext {
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const uploadsDir = join(library.dir, 'uploads');
  const configured = o.roots?.length ? o.roots.map((r) => resolve(r)) : null;
  const maxQueue = o.maxQueue ?? 32;
  const write = new Gate('writes', 1, maxQueue);
  const gates = { search: new Gate('searches', o.concurrency ?? 2, maxQueue), write };
  return {
    library,
    apiKey: o.apiKey === undefined ? undefined : checkApiKey(o.apiKey),
    limits: { ...UPLOAD_DEFAULTS, ...o.limits },
    gates,
    jobs: new IngestJobs(library, write, log),
    metrics: new Metrics(),
    targetMs: o.targetMs,
    refiner: o.backgroundRefine
      ? new BackgroundRefiner(library, gates, { log, ...o.backgroundRefine })
      : null,
    uploadsDir,
    startedAt: Date.now(),
    ingestRoots: () =>
      configured ?? library.store.roots().filter((r) => isDir(r) && !isInside(uploadsDir, r)),
    fileRoots: () => [...(configured ?? library.store.roots()), uploadsDir],
  };
}

/** Refuses (400 on `field`) a width the served model cannot run; 'auto' is left to the search. */
export function checkWidth(ctx: ApiContext, width: string | undefined, field = 'width'): void {
  if (width === undefined || width === 'auto') return;
  try {
    ctx.library.embedder.widthLabel(width);
  } catch (err) {
    if (err instanceof MatsearchError) throw badRequest(field, err.message.replace(/^width /, ''));
    throw err;
  }
}

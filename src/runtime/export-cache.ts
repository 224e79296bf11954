/**
 * ONNX exports kept on disk, one file per (weights, export options, exporter code), so a process
 * starts its sessions from a file instead of rebuilding the graph from the tfjs model.
 *
 * A file is the header `MSONNX01`, a u32 (LE) length, a JSON header (the full key, the sha256
 * and length of the graph, the export's metadata) and the ONNX bytes. It is written to a
 * temporary name and renamed, so readers see a whole file or none; `get` checks every field and
 * the graph's hash, and treats any mismatch as a miss (the caller exports and overwrites it).
 * A hit marks its file used; past `maxBytes` the files used least recently are deleted.
 *
 *   const cache = new ExportCache(defaultCacheDir());
 *   const key = exportKey({ weightsSha256, widths: '1/4', chunkSize: 'auto' });
 *   const ex = cache.get(key) ?? cache.put(key, await exportMatMambaAsync(model, opts));
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OnnxExport } from './export-matmamba.js';

const MAGIC = Buffer.from('MSONNX01', 'latin1');

/**
 * The compiled files whose code decides the graph: a change to any of them (a new op, a fixed
 * bug) changes every key, so a stale graph is never served after an upgrade or an edit.
 */
const EXPORTER_FILES = [
  './export-matmamba.js',
  './onnx-graph.js',
  './onnx-mamba2.js',
  './onnx-names.js',
  './onnx-ssd.js',
  './onnx-patch.js',
  './pos-embed.js',
  './pick-chunk.js',
  './quantize.js',
  '../model/nesting.js',
  '../model/widths.js',
  '../model/views.js',
];

let exporterHash: string | undefined;

/** sha256 of the exporter's own code (files that do not exist count as empty). */
export function exporterVersion(): string {
  if (exporterHash) return exporterHash;
  const h = createHash('sha256');
  for (const f of EXPORTER_FILES) {
    h.update(f);
    try {
      h.update(readFileSync(fileURLToPath(new URL(f, import.meta.url))));
    } catch {
      h.update('-');
    }
  }
  exporterHash = h.digest('hex').slice(0, 16);
  return exporterHash;
}

/** What identifies an export. */
export interface ExportKeyParts {
  /** sha256 of the weights file. */
  readonly weightsSha256: string;
  /** Canonical width label ("1/4", "1/8x10,1/4x10"). */
  readonly widthLabel: string;
  readonly chunkSize: number | 'auto';
  readonly imageSize: number;
  /** Numeric precision of the graph's matrix multiplications. */
  readonly precision: string;
  /** Whether the graph also outputs the classifier's logits (default false). */
  readonly logits?: boolean;
}

/** The key string of an export: every part, plus the exporter's code version. */
export function exportKey(p: ExportKeyParts): string {
  return [
    `weights=${p.weightsSha256}`,
    `widths=${p.widthLabel}`,
    `chunk=${p.chunkSize}`,
    `image=${p.imageSize}`,
    `precision=${p.precision}`,
    `outputs=${p.logits ? 'embedding+logits' : 'embedding'}`,
    `exporter=${exporterVersion()}`,
  ].join(';');
}

export { defaultCacheDir } from '../util/cache-dir.js';

interface Header {
  readonly key: string;
  readonly sha256: string;
  readonly length: number;
  readonly meta: Omit<OnnxExport, 'bytes'>;
}

/** Default size cap of the cache folder: the four standard widths of a 135M model fit. */
export const EXPORT_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** Why a cached file was not used (undefined: it was). */
export type CacheMiss = 'absent' | 'corrupt';

export class ExportCache {
  /** Files found unusable (corrupt or for another key) since this cache was made. */
  rejected = 0;

  /** `root` is the cache folder; exports go in its `onnx/` subfolder. */
  constructor(
    readonly root: string,
    readonly maxBytes: number = EXPORT_CACHE_MAX_BYTES,
  ) {}

  /** The file of a key (its name is a hash of the key). */
  pathOf(key: string): string {
    const name = createHash('sha256').update(key).digest('hex').slice(0, 32);
    return join(this.root, 'onnx', `${name}.onnx`);
  }

  /** The export stored under `key`, or why not. Never throws for a bad file. */
  read(key: string): OnnxExport | CacheMiss {
    let file: Buffer;
    try {
      file = readFileSync(this.pathOf(key));
    } catch {
      return 'absent';
    }
    const ex = parse(file, key);
    if (!ex) {
      this.rejected++;
      return 'corrupt';
    }
    try {
      const now = new Date();
      utimesSync(this.pathOf(key), now, now); // used now: pruned last
    } catch {
      // a read-only cache still serves
    }
    return ex;
  }

  /** The export stored under `key`, or null when absent or unusable. */
  get(key: string): OnnxExport | null {
    const r = this.read(key);
    return typeof r === 'string' ? null : r;
  }

  /** Stores an export under `key` atomically (temporary file, fsync, rename); returns it. */
  put(key: string, ex: OnnxExport): OnnxExport {
    const path = this.pathOf(key);
    mkdirSync(join(this.root, 'onnx'), { recursive: true });
    const { bytes, ...meta } = ex;
    const header: Header = {
      key,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      length: bytes.length,
      meta,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const fd = openSync(tmp, 'w');
      try {
        for (const part of [MAGIC, len, json, bytes]) writeSync(fd, part);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    this.prune(path);
    return ex;
  }

  /** Deletes the least recently used files (never `keep`) until the folder fits `maxBytes`. */
  private prune(keep: string): void {
    const dir = join(this.root, 'onnx');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.onnx'))
      .map((f) => {
        const st = statSync(join(dir, f));
        return { path: join(dir, f), size: st.size, used: st.mtimeMs };
      })
      .sort((a, b) => a.used - b.used);
    let total = files.reduce((t, f) => t + f.size, 0);
    for (const f of files) {
      if (total <= this.maxBytes) break;
      if (f.path === keep) continue;
      rmSync(f.path, { force: true });
      total -= f.size;
    }
  }
}

/** The export in a cache file, or null when any check fails. */
function parse(file: Buffer, key: string): OnnxExport | null {
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const jsonLen = file.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4 + jsonLen;
  if (start > file.length) return null;
  let h: Header;
  try {
    h = JSON.parse(file.subarray(MAGIC.length + 4, start).toString('utf8')) as Header;
  } catch {
    return null;
  }
  if (h?.key !== key || file.length - start !== h.length || typeof h.meta !== 'object') return null;
  const bytes = new Uint8Array(file.buffer, file.byteOffset + start, h.length);
  if (createHash('sha256').update(bytes).digest('hex') !== h.sha256) return null;
  return { ...h.meta, bytes };
}

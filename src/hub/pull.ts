/**
 * `matsearch model pull`: the official checkpoint's two files from the Hugging Face hub (or
 * MATSEARCH_HUB_ENDPOINT), verified, then imported with importCheckpoint. The only code in the
 * project that downloads a model, and only when asked to.
 *
 * The revision is pinned to the commit the hub resolves it to (X-Repo-Commit), so both files
 * come from one commit even if a branch moves meanwhile. Downloads go to the export cache's
 * folder (`<cache>/hub/<owner>--<name>/<commit>/`), where an interrupted one is resumed by the
 * next pull; they are deleted once the model is imported.
 */
import { rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import { importCheckpoint } from '../model/import-checkpoint.js';
import { defaultCacheDir } from '../runtime/export-cache.js';
import { download } from './download.js';
import { DEFAULT_HUB, hubFileMeta, resolveUrl, type HubFileMeta } from './hub-file.js';

/** The files of an official MatMamba-Vision repository, in the order they are fetched. */
export const HUB_FILES = ['config.json', 'pytorch_model.bin'] as const;

/** `owner/name`, as the hub spells repository ids. */
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface PullOptions {
  /** The repository, e.g. scaledfoundations/MatMamba-Vision-35M-ImageNet. */
  readonly repo: string;
  /** Branch, tag or commit (default 'main'). */
  readonly revision?: string;
  /** The model folder to write. */
  readonly out: string;
  /** The model's name (default: the output folder's name). */
  readonly name?: string;
  /** Default: MATSEARCH_HUB_ENDPOINT, else https://huggingface.co. */
  readonly endpoint?: string;
  /** Where downloads wait to be imported (default: the export cache's folder). */
  readonly cacheDir?: string;
  /** Before each file is fetched: its name, size and URL. */
  readonly onFile?: (file: string, meta: HubFileMeta) => void;
  readonly onProgress?: (file: string, done: number, total: number | null, from: number) => void;
}

export interface PullResult {
  readonly outDir: string;
  readonly modelId: string;
  /** The commit the files came from (null if the hub did not say). */
  readonly commit: string | null;
}

/** The hub's address: the option, else MATSEARCH_HUB_ENDPOINT, else huggingface.co. */
export function hubEndpoint(given?: string): string {
  return (given ?? process.env['MATSEARCH_HUB_ENDPOINT'] ?? DEFAULT_HUB).replace(/\/+$/, '');
}

export async function pullModel(o: PullOptions): Promise<PullResult> {
  if (!HUB_ID.test(o.repo) || o.repo.includes('..'))
    throw new ValidationError(
      `'${o.repo}' is not a hub model id; give it as owner/name, ` +
        'e.g. scaledfoundations/MatMamba-Vision-35M-ImageNet',
    );
  const endpoint = hubEndpoint(o.endpoint);
  const revision = o.revision ?? 'main';
  if (!revision || revision.includes('..'))
    throw new ValidationError(`--revision '${revision}' is not a branch, tag or commit`);
  // The first answer pins the revision to a commit; the rest is asked at that commit.
  const first = await hubFileMeta(endpoint, o.repo, revision, HUB_FILES[0]);
  const commit = first.commit;
  const pinned = commit ?? revision;
  const metas = [
    commit ? { ...first, url: resolveUrl(endpoint, o.repo, commit, HUB_FILES[0]) } : first,
  ];
  for (const f of HUB_FILES.slice(1)) metas.push(await hubFileMeta(endpoint, o.repo, pinned, f));
  const dir = join(
    o.cacheDir ?? defaultCacheDir(),
    'hub',
    o.repo.replace('/', '--'),
    encodeURIComponent(pinned),
  );
  mkdirSync(dir, { recursive: true });
  for (const [i, file] of HUB_FILES.entries()) {
    const meta = metas[i]!;
    o.onFile?.(file, meta);
    await download({
      meta,
      dest: join(dir, file),
      endpoint,
      ...(o.onProgress
        ? { onProgress: (done, total, from) => o.onProgress!(file, done, total, from) }
        : {}),
    });
  }
  const r = await importCheckpoint({ src: dir, out: o.out, ...(o.name ? { name: o.name } : {}) });
  rmSync(dir, { recursive: true, force: true }); // imported: the checkpoint is not needed again
  return { ...r, commit };
}

/**
 * What the Hugging Face hub says about one file before it is fetched: a HEAD on
 * `{endpoint}/{repo}/resolve/{revision}/{file}`, not following the redirect, whose headers carry
 * the commit (X-Repo-Commit), the checksum and the size. A file stored with LFS (a checkpoint)
 * answers 302 to its CDN with X-Linked-Etag = its sha256 and X-Linked-Size; a small file answers
 * 200 with ETag = its git blob id (sha1 of "blob <size>\0" + content). Both are verified.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { HubError, NotFoundError } from '../errors.js';

export const DEFAULT_HUB = 'https://huggingface.co';

export interface Checksum {
  readonly kind: 'sha256' | 'git-sha1';
  readonly hex: string;
}

export interface HubFileMeta {
  readonly url: string;
  /** The commit the revision resolved to (X-Repo-Commit), when the hub says. */
  readonly commit: string | null;
  /** Bytes, when the hub says. */
  readonly size: number | null;
  readonly checksum: Checksum;
}

export const USER_AGENT = 'matsearch-model-pull/1';

/** The resolve URL of a file: `{endpoint}/{repo}/resolve/{revision}/{file}`. */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/** The error for a hub that cannot be reached at all (offline, refused, unknown host). */
export function unreachable(endpoint: string, err: unknown): HubError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new HubError(
    `cannot reach the hub at ${endpoint}; download the files yourself and run ` +
      `\`matsearch model import\` (${why})`,
    { cause: err },
  );
}

/** An ETag's value without its weak marker and quotes. */
const bareTag = (t: string | null) => (t ?? '').replace(/^W\//, '').replace(/"/g, '').trim();

export async function hubFileMeta(
  endpoint: string,
  repo: string,
  revision: string,
  file: string,
): Promise<HubFileMeta> {
  const url = resolveUrl(endpoint, repo, revision, file);
  let res: Response;
  try {
    // identity: a compressed answer's Content-Length would not be the file's size
    res = await fetch(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: { 'Accept-Encoding': 'identity', 'User-Agent': USER_AGENT },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  if (res.status === 404)
    throw new NotFoundError(
      `${repo} has no ${file} at revision ${revision} on the hub (${url}: 404); ` +
        'check the model id and --revision',
    );
  if (res.status === 401 || res.status === 403)
    throw new HubError(
      `the hub refused ${url} (${res.status}): the repository is private or gated; ` +
        'download the files yourself and run `matsearch model import`',
    );
  if (!(res.status >= 200 && res.status < 400))
    throw new HubError(`the hub answered ${res.status} for ${url}; try again later`);
  const h = res.headers;
  const tag = bareTag(h.get('x-linked-etag') ?? h.get('etag'));
  const kind = /^[0-9a-f]{64}$/.test(tag)
    ? 'sha256'
    : /^[0-9a-f]{40}$/.test(tag)
      ? 'git-sha1'
      : null;
  if (!kind)
    throw new HubError(
      `the hub gave no checksum for ${file} (ETag '${tag}'), so the download could not be ` +
        'verified; download the files yourself and run `matsearch model import`',
    );
  const sizeText = h.get('x-linked-size') ?? (res.status === 200 ? h.get('content-length') : null);
  const size = sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : null;
  return { url, commit: h.get('x-repo-commit'), size, checksum: { kind, hex: tag } };
}

/** The checksum of a file on disk, of the kind given, read as a stream. */
export async function fileChecksum(path: string, kind: Checksum['kind'], size: number) {
  const h = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

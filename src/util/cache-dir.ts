/** The per-user cache folder: ONNX exports (runtime/export-cache.ts) and weights hashes. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$MATSEARCH_CACHE_DIR`, else `$XDG_CACHE_HOME/matsearch`, else `~/.cache/matsearch`. */
export function defaultCacheDir(): string {
  const own = process.env['MATSEARCH_CACHE_DIR'];
  if (own) return own;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg || join(homedir(), '.cache'), 'matsearch');
}

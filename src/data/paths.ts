/** Where `npm run data` caches the data sets (git-ignored). */
import { resolve } from 'node:path';

export function dataDir(): string {
  return resolve(process.env['MATSEARCH_DATA_DIR'] ?? '.cache/data');
}

export const FMNIST_SUBDIR = 'fashion-mnist';

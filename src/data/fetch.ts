/**
 * `npm run data`: fetches the training and evaluation sets from the package registries into a
 * git-ignored cache (default `.cache/data`, or MATSEARCH_DATA_DIR). Idempotent: finished steps are
 * skipped. No download happens at install or run time; only this script fetches.
 *   - Fashion-MNIST: Debian's `dataset-fashion-mnist` (apt-get download + dpkg-deb -x, no root).
 *   - Emoji: npm `emoji-datasource-twitter`, `emoji-datasource-google` (64 px PNG) and `openmoji`
 *     (SVG), unpacked with `npm pack` + tar.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { dataDir, FMNIST_SUBDIR } from './paths.js';
export const EMOJI_PACKAGES = {
  twitter: 'emoji-datasource-twitter@16.0.0',
  google: 'emoji-datasource-google@16.0.0',
  openmoji: 'openmoji@17.0.0',
} as const;

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Downloads Debian package `name` (apt-get download, no root) and unpacks it into `dest`
 * (dpkg-deb -x; nothing is installed). Returns the package's version, e.g. '3.1-1'.
 */
export function unpackDebian(name: string, dest: string): string {
  const work = `${dest}.download`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('apt-get', ['download', name], work);
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb)
    throw new Error(`apt-get download ${name} produced no .deb (run apt-get update first?)`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  run('dpkg-deb', ['-x', join(work, deb), dest], work);
  rmSync(work, { recursive: true, force: true });
  return decodeURIComponent(deb.split('_')[1] ?? 'unknown');
}

/**
 * Fetches npm package `spec` (npm pack, no install scripts run) and unpacks it so that `dest`
 * holds the package's files. Returns the version from its package.json.
 */
export function unpackNpm(spec: string, dest: string): string {
  const work = `${dest}.download`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  run('npm', ['pack', spec, '--silent'], work);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${spec} produced no tarball`);
  run('tar', ['xzf', tgz], work);
  rmSync(dest, { recursive: true, force: true });
  renameSync(join(work, 'package'), dest);
  rmSync(work, { recursive: true, force: true });
  const pkg = JSON.parse(readFileSync(join(dest, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

export function fetchFashionMnist(root = dataDir()): string {
  const dest = join(root, FMNIST_SUBDIR);
  if (existsSync(join(dest, 't10k-labels-idx1-ubyte.gz'))) return dest;
  const work = join(root, 'tmp-fmnist');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.log('fetching Fashion-MNIST (Debian package dataset-fashion-mnist)...');
  run('apt-get', ['download', 'dataset-fashion-mnist'], work);
  const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download produced no .deb (run apt-get update first?)');
  run('dpkg-deb', ['-x', deb, 'x'], work);
  rmSync(dest, { recursive: true, force: true });
  renameSync(join(work, 'x/usr/share/datasets/fashion-mnist'), dest);
  rmSync(work, { recursive: true, force: true });
  return dest;
}

export function fetchEmoji(root = dataDir()): Record<keyof typeof EMOJI_PACKAGES, string> {
  const out = {} as Record<keyof typeof EMOJI_PACKAGES, string>;
  for (const [vendor, spec] of Object.entries(EMOJI_PACKAGES) as [
    keyof typeof EMOJI_PACKAGES,
    string,
  ][]) {
    const dest = join(root, 'emoji', vendor);
    out[vendor] = dest;
    if (existsSync(join(dest, 'package.json'))) continue;
    const work = join(root, `tmp-${vendor}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    console.log(`fetching ${spec} (npm pack)...`);
    run('npm', ['pack', spec, '--silent'], work);
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error(`npm pack ${spec} produced no tarball`);
    run('tar', ['xzf', tgz], work);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(join(root, 'emoji'), { recursive: true });
    renameSync(join(work, 'package'), dest);
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

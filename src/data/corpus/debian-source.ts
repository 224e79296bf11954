/**
 * A corpus source made from one or more Debian packages: each is unpacked (nothing installed)
 * under the source folder, `build` turns the trees into images and entries, and the unpacked
 * trees are deleted whatever happens, so only the images taken stay on disk.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusEntry } from './manifest.js';
import type { CorpusSource } from './source.js';
import { parseDep5, type Dep5Rule } from './dep5.js';
import { unpackDebian } from '../fetch.js';

export interface PackageTree {
  readonly name: string;
  /** Root of the unpacked package. */
  readonly root: string;
  /** Its debian/copyright rules (empty when it has none in DEP-5 form). */
  readonly copyright: readonly Dep5Rule[];
}

export interface DebianSourceSpec {
  readonly name: string;
  readonly group: CorpusSource['group'];
  readonly packages: readonly string[];
  readonly licence: string;
  readonly credit: string;
  readonly build: (
    trees: readonly PackageTree[],
    dir: string,
    log: (msg: string) => void,
  ) => Promise<CorpusEntry[]>;
}

export function debianSource(spec: DebianSourceSpec): CorpusSource {
  return {
    name: spec.name,
    group: spec.group,
    async fetch(dir, log) {
      const trees: PackageTree[] = [];
      const roots: string[] = [];
      const versions: string[] = [];
      try {
        for (const [i, pkg] of spec.packages.entries()) {
          const root = join(dir, `.unpacked-${i}`);
          roots.push(root);
          log(`corpus: ${spec.name}: apt-get download ${pkg}`);
          versions.push(`debian:${pkg}=${unpackDebian(pkg, root)}`);
          const cr = join(root, 'usr/share/doc', pkg, 'copyright');
          const copyright = existsSync(cr) ? parseDep5(readFileSync(cr, 'utf8')) : [];
          trees.push({ name: pkg, root, copyright });
        }
        const entries = await spec.build(trees, dir, log);
        return {
          info: { packages: versions, licence: spec.licence, credit: spec.credit },
          entries,
        };
      } finally {
        for (const r of roots) rmSync(r, { recursive: true, force: true });
      }
    },
  };
}

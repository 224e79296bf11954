/**
 * The package as a script uses it: only `import ... from 'matsearch'` (the exports map), no dist/
 * paths. Ingest a folder and search it with the shipped default model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

test('the package name exports the library API, and nothing internal', async () => {
  const m = await import('matsearch');
  for (const name of ['openLibrary', 'Library', 'Searcher', 'openEmbedder', 'resolveModelDir'])
    assert.ok(name in m, `'matsearch' does not export ${name}`);
  const internal = 'matsearch/dist/src/library.js'; // a string, so tsc does not resolve it
  await assert.rejects(import(internal), {
    code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
  });

  const dir = mkdtempSync(join(tmpdir(), 'package-api-'));
  try {
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    const colours = [
      [200, 40, 40],
      [40, 160, 60],
      [30, 60, 200],
    ];
    for (const [i, [r, g, b]] of colours.entries())
      await sharp({ create: { width: 96, height: 64, channels: 3, background: { r, g, b } } })
        .composite([
          {
            input: await sharp({
              create: { width: 24 + 12 * i, height: 24, channels: 3, background: '#fff' },
            })
              .png()
              .toBuffer(),
            left: 10 + 20 * i,
            top: 8 * i,
          },
        ])
        .png()
        .toFile(join(photos, `p${i}.png`));
    const embedder = await m.openEmbedder(m.resolveModelDir());
    const lib = m.openLibrary(join(dir, 'lib'), { embedder });
    try {
      const summary = await lib.ingest([photos]);
      assert.equal(summary.added, 3);
      const { results } = await lib.searchFile(join(photos, 'p1.png'), { k: 3 });
      assert.equal(results[0]?.path, join(photos, 'p1.png'));
    } finally {
      lib.close();
      await embedder.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

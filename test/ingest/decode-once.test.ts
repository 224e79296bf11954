/**
 * Decode once: every file's pixels are decoded by exactly one sharp pipeline, shrunk on load to
 * what the thumbnail and the model input need, for ingest and for a search query alike. The
 * oracle is a spy on the sharp module itself (sharp-spy/), which sees every pipeline the code
 * builds from a file's bytes, whichever module builds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeImages } from './fixtures.js';
import type { DecodeRecord } from './sharp-spy/counting-sharp.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

test('each file is decoded once, to at most the thumbnail size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-once-'));
  try {
    const photos = join(dir, 'photos');
    const files = await writeImages(photos, 6, 3);
    // A camera-sized JPEG (6 MP, EXIF-rotated) beside the small PNG, JPEG and WebP files.
    const big = join(photos, 'camera.jpg');
    const noise = Buffer.alloc(3000 * 2000 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    writeFileSync(
      big,
      await sharp(noise, { raw: { width: 3000, height: 2000, channels: 3 } })
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    files.push(big);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        here('./sharp-spy/register.js'),
        here('./decode-once-child.js'),
        photos,
        join(dir, 'lib'),
        big,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      added: number;
      failed: number;
      ingest: DecodeRecord[];
      search: DecodeRecord[];
    };
    assert.equal(out.added, files.length);
    assert.equal(out.failed, 0);
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const count = (recs: DecodeRecord[], f: string) => recs.filter((x) => x.file === sha(f)).length;
    for (const f of files)
      assert.equal(count(out.ingest, f), 1, `${f} decoded ${count(out.ingest, f)} times`);
    assert.equal(out.ingest.length, files.length, 'a pipeline decoded something else');
    assert.equal(count(out.search, big), 1);
    assert.equal(out.search.length, 1);
    // The camera file is decoded straight to the work image: its long side the thumbnail's 256
    // px (oriented: 2000 x 3000 becomes portrait), not a large intermediate.
    const [ingested] = out.ingest.filter((x) => x.file === sha(big));
    assert.deepEqual([ingested!.width, ingested!.height], [171, 256]);
    assert.deepEqual([out.search[0]!.width, out.search[0]!.height], [171, 256]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

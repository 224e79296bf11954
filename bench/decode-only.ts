/**
 * The decode-only bound of the 12 MP ingest bench, run as its own process (start-up included):
 * every file read and decoded to 64 px with sharp's shrink-on-load, 4 files in parallel, nothing
 * else. Prints `{"files": N, "ms": T}` (T from process start) on stdout.
 *   node dist/bench/decode-only.js FILE...
 */
import { readFile } from 'node:fs/promises';
// The same loader as the product's (src/util/sharp.ts), so start-up is compared like for like.
import sharp from '../src/util/sharp.js';

const files = process.argv.slice(2);
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < files.length) {
      const bytes = await readFile(files[next++]!);
      await sharp(bytes).resize(64, 64).raw().toBuffer();
    }
  }),
);
console.log(JSON.stringify({ files: files.length, ms: performance.now() }));

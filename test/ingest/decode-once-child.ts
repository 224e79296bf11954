/**
 * Run by decode-once.test.ts with sharp-spy/register.js preloaded: ingests a folder (with an
 * encoder stand-in, so only decoding is real), then searches with one file, and prints the
 * pipelines that decoded a file's pixels during each, as JSON.
 *   node --import sharp-spy/register.js decode-once-child.js PHOTOS LIBRARY QUERY
 */
import { Library } from '../../src/library.js';
import type { Embedder } from '../../src/embed/embedder.js';
import type { DecodeRecord } from './sharp-spy/counting-sharp.js';

const [photos, library, query] = process.argv.slice(2) as [string, string, string];

/** Returns one fixed unit vector: nothing here decodes. */
const standIn: Embedder = {
  modelId: 'stand-in@0',
  dim: 4,
  inputSize: 16,
  inputChannels: 3,
  widthLabel: () => '1',
  widthRank: () => 1,
  embed: async (inputs) => inputs.map(() => Float32Array.of(1, 0, 0, 0)),
  close: async () => {},
};

const records = () => (globalThis as { sharpDecodes?: DecodeRecord[] }).sharpDecodes ?? [];
const lib = Library.open(library, { embedder: standIn, log: () => {} });
// No decode timeout: every file decodes in this process, where the spy sees it.
const summary = await lib.ingest([photos], { decode: { timeoutMs: 0 } });
const ingest = records().splice(0);
await lib.searchFile(query, { k: 1 });
const search = records().splice(0);
lib.close();
console.log(JSON.stringify({ added: summary.added, failed: summary.failed, ingest, search }));

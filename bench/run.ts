/**
 * `npm run bench -- <name> [options]`: runs one benchmark and writes JSON + Markdown to docs/bench/.
 * Benchmarks measure; they never assert. Ratios are taken side by side within one run.
 */
import { benchAuto } from './auto.js';
import { benchCli } from './cli.js';
import { benchDial } from './dial.js';
import { benchEncoder } from './encoder.js';
import { benchExhaustion } from './exhaustion.js';
import { benchIngest } from './ingest.js';
import { benchInt8Quality } from './int8-quality.js';
import { benchLoad } from './load.js';
import { benchMemory } from './memory.js';
import { benchModelForward } from './model-forward.js';
import { benchScale } from './scale.js';
import { benchSearch } from './search.js';

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  model: benchModelForward,
  encoder: benchEncoder,
  search: benchSearch,
  ingest: benchIngest,
  'int8-quality': benchInt8Quality,
  load: benchLoad,
  memory: benchMemory,
  scale: benchScale,
  exhaustion: benchExhaustion,
  dial: benchDial,
  auto: benchAuto,
  cli: benchCli,
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]`);
  process.exit(2);
}
await bench(args);

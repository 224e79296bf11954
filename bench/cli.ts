/**
 * Wall time of the `matsearch search` command as a user runs it: a new process per call.
 *   npm run bench -- cli [--model DIR] [--reps 7] [--queries 20]
 *
 * The sample emoji (samples/) are ingested into a temporary library; then, side by side in one
 * run, each with a fresh process:
 *   - no cache: the export cache emptied before each process, so it exports every time (as
 *     every search did before the cache existed);
 *   - cold search: the cache filled, a new process each time (median of reps);
 *   - `node -e 0`: the floor any process pays, for scale;
 *   - N queries as N processes against one `search q1 ... qN --json` process.
 * Load average is recorded: on a busy machine every figure grows. Writes docs/bench/cli.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveModelDir } from '../src/embed/open.js';
import { machine, mdTable, median, positiveInts, writeReport } from './util.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../../samples/twemoji/', import.meta.url));

/** Wall ms of one process; throws with its stderr if it failed. */
function wall(args: string[], env: NodeJS.ProcessEnv): { ms: number; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stderr: r.stderr };
}

function stats(xs: number[]) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

export async function benchCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      reps: { type: 'string', default: '7' },
      queries: { type: 'string', default: '20' },
    },
  });
  const [reps, nQueries] = positiveInts(values, ['reps', 'queries']);
  const model = resolveModelDir(values.model);
  const tmp = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  const env = { ...process.env, MATSEARCH_CACHE_DIR: join(tmp, 'cache') };
  const lib = ['--library', join(tmp, 'lib'), '--model', model];
  const load = [loadavg()[0]!];
  try {
    wall([CLI, 'ingest', SAMPLES, ...lib, '--json'], env);
    const queries = readdirSync(SAMPLES)
      .sort()
      .slice(0, nQueries!)
      .map((f) => join(SAMPLES, f));
    const search = (...q: string[]) => [CLI, 'search', ...q, ...lib, '--k', '5', '--json'];
    const emptyCache = () => rmSync(env.MATSEARCH_CACHE_DIR, { recursive: true, force: true });
    let exportLine = '';
    const uncached: number[] = [];
    const cold: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < reps!; i++) {
      const q = queries[i % queries.length]!;
      emptyCache();
      const first = wall(search(q), env);
      uncached.push(first.ms);
      exportLine ||= first.stderr.split('\n').find((l) => l.startsWith('exported ')) ?? '';
      cold.push(wall(search(q), env).ms);
      bare.push(wall(['-e', '0'], env).ms);
    }
    const t0 = performance.now();
    for (const q of queries) wall(search(q), env);
    const separate = performance.now() - t0;
    const batch = wall(search(...queries), env).ms;
    load.push(loadavg()[0]!);
    const result = {
      machine: machine(),
      loadAverage: load,
      model: relative(process.cwd(), model),
      reps,
      exportLine: exportLine.replace(/\/tmp\/\S+/, '…'),
      uncachedSearchMs: stats(uncached),
      coldSearchMs: stats(cold),
      nodeStartMs: median(bare),
      queries: queries.length,
      separateProcessesMs: separate,
      oneBatchProcessMs: batch,
    };
    const f = (x: number) => (x / 1000).toFixed(2);
    const range = (r: { median: number; min: number; max: number }) =>
      `${f(r.median)} (${f(r.min)}-${f(r.max)})`;
    const md =
      `# CLI wall time\n\n` +
      `\`npm run bench -- cli\` on ${result.machine.cpu} (${result.machine.cores} cores), ` +
      `node ${result.machine.node}, ${result.machine.date}. Load average ` +
      `${load.map((l) => l.toFixed(2)).join(' -> ')} (every figure grows with it). Model ` +
      `\`${result.model}\`; medians of ${reps} processes, min-max in brackets.\n\n` +
      mdTable(
        ['what', 'wall s'],
        [
          [
            '`search`, export cache emptied first (exports every time)',
            range(result.uncachedSearchMs),
          ],
          ['`search`, export cache filled (a new process each time)', range(result.coldSearchMs)],
          ['`node -e 0` (process floor)', f(result.nodeStartMs)],
          [`${queries.length} queries, one process each`, f(separate)],
          [`${queries.length} queries, one \`search q1 ... qN --json\``, f(batch)],
        ],
      ) +
      `\nA search that exports prints, on stderr: \`${result.exportLine}\`\n`;
    const out = fileURLToPath(new URL('../../docs/bench/', import.meta.url));
    writeReport(join(out, 'cli.json'), result, join(out, 'cli.md'), md);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

#!/usr/bin/env node
/**
 * The `matsearch` command line. Each command lives in its own module; this file only routes and
 * maps errors to exit codes: 0 success, 2 a user error (bad argument, bad file), 1 anything else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MatsearchError } from '../errors.js';
import { isDiskFull } from '../../ingest/fatal.js';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<void>;
}

/**
 * Each command's module is imported only when it runs (help imports them all): a command pays
 * for its own dependencies alone, e.g. `search` never loads tfjs or the training code.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  'model info': async () => (await import('./model-info.js')).modelInfoCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  data: async () => (await import('./data.js')).dataCommand,
  train: async () => (await import('./train.js')).trainCommand,
  eval: async () => (await import('./eval.js')).evalCommand,
  ingest: async () => (await import('./engine.js')).ingestCommand,
  refine: async () => (await import('./engine.js')).refineCommand,
  search: async () => (await import('./search.js')).searchCommand,
  similar: async () => (await import('./engine.js')).similarCommand,
  dupes: async () => (await import('./engine.js')).dupesCommand,
  stats: async () => (await import('./engine.js')).statsCommand,
  reindex: async () => (await import('./engine.js')).reindexCommand,
  remove: async () => (await import('./engine.js')).removeCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  worker: async () => (await import('./worker.js')).workerCommand,
};

const USER_ERROR_CODES = new Set([
  'E_VALIDATION',
  'E_SHAPE',
  'E_WEIGHTS_FORMAT',
  'E_NOT_FOUND',
  'E_USAGE',
  'E_LOCKED',
  'E_MODEL_MISMATCH',
  'E_DECODE',
  'E_QUEUE',
  'EADDRINUSE',
  'EACCES',
]);

async function help(): Promise<string> {
  const rows = await Promise.all(
    Object.entries(COMMANDS).map(
      async ([name, load]) => `  ${name.padEnd(14)} ${(await load()).summary}`,
    ),
  );
  return [
    'usage: matsearch <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    "run 'matsearch <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    console.log(await help());
    return first ? 0 : 2;
  }
  const twoWord = `${first} ${second ?? ''}`;
  const name = COMMANDS[twoWord] ? twoWord : first;
  const load = COMMANDS[name];
  if (!load) {
    console.error(`matsearch: unknown command '${first}'\n\n${await help()}`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  try {
    const cmd = await load();
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values['help']) {
      console.log(`usage: matsearch ${name} ${cmd.usage}\n\n${cmd.summary}`);
      return 0;
    }
    await cmd.run(values as Record<string, unknown>, positionals);
    return 0;
  } catch (err) {
    const code = err instanceof MatsearchError ? err.code : (err as { code?: string }).code;
    if (code && (USER_ERROR_CODES.has(code) || code.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`matsearch ${name}: ${(err as Error).message}`);
      return 2;
    }
    if (isDiskFull(err)) {
      // A full disk, here or while opening the library: say so and what to do, no stack.
      const msg =
        err instanceof MatsearchError
          ? err.message
          : `the disk is full (${(err as Error).message}); free some space and run it again`;
      console.error(`matsearch ${name}: ${msg}`);
      return 1;
    }
    console.error(`matsearch ${name}: unexpected failure`);
    console.error(err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
/**
 * The `matsearch` command line. Each command lives in its own module; this file only routes and
 * maps errors to exit codes: 0 success, 2 a user error (bad argument, bad file), 1 anything else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MatsearchError } from '../errors.js';
import { isDiskFull } from '../../ingest/fatal.js';
import { modelInfoCommand } from './model-info.js';
import { demoCommand } from './demo.js';
import { dataCommand } from './data.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import { serveCommand } from './serve.js';
import { workerCommand } from './worker.js';
import {
  dupesCommand,
  ingestCommand,
  refineCommand,
  reindexCommand,
  removeCommand,
  searchCommand,
  similarCommand,
  statsCommand,
} from './engine.js';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  'model info': modelInfoCommand,
  demo: demoCommand,
  data: dataCommand,
  train: trainCommand,
  eval: evalCommand,
  ingest: ingestCommand,
  refine: refineCommand,
  search: searchCommand,
  similar: similarCommand,
  dupes: dupesCommand,
  stats: statsCommand,
  reindex: reindexCommand,
  remove: removeCommand,
  serve: serveCommand,
  worker: workerCommand,
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

function help(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`);
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
    console.log(help());
    return first ? 0 : 2;
  }
  const twoWord = `${first} ${second ?? ''}`;
  const name = COMMANDS[twoWord] ? twoWord : first;
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`matsearch: unknown command '${first}'\n\n${help()}`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  try {
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

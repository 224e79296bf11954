#!/usr/bin/env node
/**
 * The `matsearch` command line. Each command lives in its own module; this file only routes and
 * maps errors to exit codes: 0 success, 2 a user error (bad argument, bad file), 1 anything else.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MatsearchError } from '../errors.js';
import { isDiskFull } from '../../ingest/fatal.js';
import { commandHelp, COMMANDS, help, startsEncoderEarly } from './commands.js';

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<void>;
}

const USER_ERROR_CODES = new Set([
  'E_VALIDATION',
  'E_SHAPE',
  'E_WEIGHTS_FORMAT',
  'E_NOT_FOUND',
  'E_USAGE',
  'E_LOCKED',
  'E_MODEL_MISMATCH',
  'E_NO_HEAD',
  'E_DECODE',
  'E_QUEUE',
  'EADDRINUSE',
  'EACCES',
]);

/** Failures that are no bug and need no stack: the message says what happened and what to do. */
const FAILURE_CODES = new Set(['E_HUB']);

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
    if (startsEncoderEarly(name, rest))
      (await import('../runtime/worker-pool.js')).WorkerPool.prestart();
    const cmd = await load();
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values['help']) {
      console.log(commandHelp(name, cmd));
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
    if (code && FAILURE_CODES.has(code)) {
      console.error(`matsearch ${name}: ${(err as Error).message}`);
      return 1;
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

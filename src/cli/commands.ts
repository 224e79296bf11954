/**
 * The command table and the help text: `main.ts` routes through it, and the help test checks
 * every command's help against the options it declares.
 */
import type { Command } from './main.js';

/**
 * Each command's module is imported only when it runs (help imports them all): a command pays
 * for its own dependencies alone, e.g. `search` never loads tfjs or the training code.
 */
export const COMMANDS: Record<string, () => Promise<Command>> = {
  'model info': async () => (await import('./model-info.js')).modelInfoCommand,
  'model import': async () => (await import('./model-import.js')).modelImportCommand,
  'model pull': async () => (await import('./model-pull.js')).modelPullCommand,
  'model whiten': async () => (await import('./model-whiten.js')).modelWhitenCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  data: async () => (await import('./data.js')).dataCommand,
  train: async () => (await import('./train.js')).trainCommand,
  eval: async () => (await import('./eval.js')).evalCommand,
  ingest: async () => (await import('./engine.js')).ingestCommand,
  refine: async () => (await import('./engine.js')).refineCommand,
  search: async () => (await import('./search.js')).searchCommand,
  classify: async () => (await import('./classify.js')).classifyCommand,
  similar: async () => (await import('./engine.js')).similarCommand,
  dupes: async () => (await import('./engine.js')).dupesCommand,
  stats: async () => (await import('./engine.js')).statsCommand,
  reindex: async () => (await import('./engine.js')).reindexCommand,
  remove: async () => (await import('./engine.js')).removeCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  worker: async () => (await import('./worker.js')).workerCommand,
};

/** Commands that run images through the ONNX encoder in this process. */
const ENCODING_COMMANDS = new Set(['search', 'ingest', 'classify', 'refine']);

/**
 * Whether `main` starts the encoder's worker thread before it loads the command's modules, so
 * that the thread's start-up (a Node environment, the onnxruntime binding) runs beside theirs.
 * Not for help, a queued ingest (its workers encode) or the tfjs runtime: they run no session.
 */
export function startsEncoderEarly(name: string, args: readonly string[]): boolean {
  if (!ENCODING_COMMANDS.has(name) || process.env['MATSEARCH_RUNTIME'] === 'tfjs') return false;
  return !args.some(
    (a) => a === '-h' || a === '--help' || a === '--queue' || a.startsWith('--queue='),
  );
}

export async function help(): Promise<string> {
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

/** `matsearch <name> --help`: the usage line, then the summary. */
export function commandHelp(name: string, cmd: Command): string {
  return `usage: matsearch ${name} ${cmd.usage}\n\n${cmd.summary}`;
}

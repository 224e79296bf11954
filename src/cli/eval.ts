/** `matsearch eval`: the metrics of a trained model, written to docs/eval as JSON, Markdown and SVG. */
import type { Command } from './main.js';
import { ValidationError } from '../errors.js';
import { evaluate } from '../eval/evaluate.js';
import { parseDataSpec, prepareData } from '../train/data.js';
import { writeModelCard, type EvalReport } from '../eval/model-card.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STANDARD_WIDTHS } from '../model/nesting.js';
import { evaluateGeneral } from '../eval/general.js';
import { writeGeneralCard } from '../eval/general-card.js';
import { reportName, writeGeneralReport, type GeneralReport } from '../eval/general-report.js';
import type { TaskName } from '../eval/general-tasks.js';

function readReport(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ValidationError(`--from-report: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** argv without `name` and its value (in either the `--name value` or `--name=value` form). */
function withoutOption(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) i++;
    else if (!argv[i]!.startsWith(`${name}=`)) out.push(argv[i]!);
  }
  return out;
}

export const evalCommand: Command = {
  summary: "evaluate a model: top-1 per width and Mix'n'Match point, retrieval per width pair",
  usage:
    '--model DIR --data fmnist|emoji|general|FOLDER [--out docs/eval] [--width W ...] [--mix SPEC ... | --mix none] [--queries N] [--split train|test] [--json] [--card docs/models [--run DIR] [--baseline EVAL.json [--baseline-width 1/4]] [--from-report EVAL.json]] [general: --allow-small --seed N --distractors N --task copy|style|category|fmnist ...; --split train: copy detection on training photos only, a validation set for choosing settings]',
  options: {
    model: { type: 'string', short: 'm' },
    data: { type: 'string' },
    out: { type: 'string', default: 'docs/eval' },
    width: { type: 'string', multiple: true },
    mix: { type: 'string', multiple: true },
    queries: { type: 'string', default: '10000' },
    split: { type: 'string', default: 'test' },
    json: { type: 'boolean', default: false },
    card: { type: 'string' },
    run: { type: 'string' },
    baseline: { type: 'string' },
    'baseline-width': { type: 'string', default: '1/4' },
    /** With --card: write the card from a report this command wrote before, without evaluating. */
    'from-report': { type: 'string' },
    /** --data general: run on fewer held-out photos or distractors than the protocol asks. */
    'allow-small': { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
    distractors: { type: 'string', default: '5000' },
    task: { type: 'string', multiple: true },
  },
  async run(v) {
    if (typeof v['model'] !== 'string')
      throw new ValidationError(
        'give --model DIR (a folder with config.json and model.safetensors)',
      );
    if (typeof v['data'] !== 'string')
      throw new ValidationError('give --data fmnist, --data emoji or --data <folder>');
    const json = Boolean(v['json']);
    if (v['split'] === 'train' && typeof v['card'] === 'string')
      throw new ValidationError('a model card reports held-out data: drop --split train');
    if (v['data'] === 'general') return runGeneral(v, json);
    const data = parseDataSpec(v['data']);
    const fromReport = v['from-report'] as string | undefined;
    if (fromReport !== undefined && typeof v['card'] !== 'string')
      throw new ValidationError('--from-report only goes with --card DIR');
    if (fromReport === undefined) await prepareData(data, json ? undefined : (s) => console.log(s));
    const report =
      fromReport !== undefined
        ? readReport(fromReport)
        : await evaluate({
            modelDir: v['model'],
            data,
            outDir: String(v['out']),
            widths: (v['width'] as string[] | undefined) ?? [...STANDARD_WIDTHS],
            mixPoints:
              // `--mix none`: no Mix'n'Match points (e.g. a single-width baseline)
              (v['mix'] as string[] | undefined)?.filter((m) => m !== 'none') ??
              (data.kind !== 'emoji'
                ? [
                    '1/8x3,1/4x3',
                    '1/4x3,1/2x3',
                    '1/2x3,1x3',
                    '1/8x2,1/4x2,1/2x2',
                    '1/4x2,1/2x2,1x2',
                    '1/8x4,1x2',
                  ]
                : []),
            queries: Number(v['queries']),
            split: parseSplit(v['split']),
            log: json ? () => {} : (s) => console.log(s),
          });
    if (typeof v['card'] === 'string') {
      const r = report as unknown as EvalReport;
      const baseline =
        typeof v['baseline'] === 'string'
          ? {
              width: String(v['baseline-width']),
              report: JSON.parse(readFileSync(v['baseline'], 'utf8')) as EvalReport,
            }
          : undefined;
      const out = writeModelCard({
        modelDir: v['model'],
        runDir: (v['run'] as string | undefined) ?? join('checkpoints', r.model),
        report: r,
        ...(baseline ? { baseline } : {}),
        // The command that reproduces the numbers: this one, evaluating.
        evalCommand: `npx matsearch ${withoutOption(process.argv.slice(2), '--from-report').join(' ')}`,
        outDir: v['card'],
      });
      if (!json) console.log(`model card: ${out}`);
    }
    if (json) console.log(JSON.stringify(report, null, 2));
  },
};

const TASKS: readonly TaskName[] = ['copy', 'style', 'category', 'fmnist'];

function count(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new ValidationError(`--${what} must be a whole number >= 0, got '${String(v)}'`);
  return n;
}

async function runGeneral(v: Record<string, unknown>, json: boolean): Promise<void> {
  const tasks = v['task'] as string[] | undefined;
  for (const t of tasks ?? [])
    if (!TASKS.includes(t as TaskName))
      throw new ValidationError(`--task must be one of ${TASKS.join(', ')}, got '${t}'`);
  const fromReport = v['from-report'] as string | undefined;
  const outDir = String(v['out']);
  let report: GeneralReport;
  if (fromReport !== undefined) {
    // The Markdown, plot (and card) again from a report's JSON, without evaluating.
    report = readReport(fromReport) as unknown as GeneralReport;
    writeGeneralReport(report, outDir);
  } else {
    report = await evaluateGeneral({
      modelDir: String(v['model']),
      outDir,
      seed: count(v['seed'], 'seed'),
      distractors: count(v['distractors'], 'distractors'),
      allowSmall: Boolean(v['allow-small']),
      split: parseSplit(v['split']),
      ...(tasks ? { tasks: tasks as TaskName[] } : {}),
      log: json ? () => {} : (s) => console.log(s),
    });
  }
  if (typeof v['card'] === 'string') {
    // The command that reproduces the numbers: this one, evaluating.
    const command = `npx matsearch ${withoutOption(process.argv.slice(2), '--from-report').join(' ')}`;
    // A model trained on the general corpus gets its whole card (recipe, cost, reproduce) from
    // its run; other models keep their card and get the general section added.
    const runDir = (v['run'] as string | undefined) ?? join('checkpoints', report.model);
    if (runKind(runDir) === 'general')
      writeModelCard({
        modelDir: String(v['model']),
        runDir,
        report: null,
        evalCommand: command,
        outDir: v['card'],
      });
    const out = writeGeneralCard(report, v['card'], command);
    if (!json) console.log(`model card: ${out}`);
  }
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(`report: ${join(outDir, `${reportName(report)}.md`)}`);
}

/** The data kind a training run folder was trained on, or null without one. */
function runKind(runDir: string): string | null {
  try {
    const state = JSON.parse(readFileSync(join(runDir, 'ckpt', 'state.json'), 'utf8')) as {
      options?: { data?: { kind?: string } };
    };
    return state.options?.data?.kind ?? null;
  } catch {
    return null;
  }
}

function parseSplit(v: unknown): 'train' | 'test' {
  if (v === 'train' || v === 'test') return v;
  throw new ValidationError(`--split must be train or test, got '${String(v)}'`);
}

/**
 * The general evaluation's part of a model card: its acceptance table and every task's tables,
 * each number with its interval, kept between two markers in docs/models/<model>.md so that
 * rewriting either part of the card leaves the other alone.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  acceptanceTable,
  partialLine,
  taskSections,
  type GeneralReport,
} from './general-report.js';

export const GENERAL_START = '<!-- general-eval:start -->';
export const GENERAL_END = '<!-- general-eval:end -->';

export function generalSection(r: GeneralReport, command: string): string {
  return [
    GENERAL_START,
    '## General evaluation',
    '',
    `Full report: docs/eval/${r.model}-general.md (${r.date.slice(0, 10)}). Mean over queries in %, ` +
      `[95% cluster-bootstrap interval]; \`model@w\` queries at width w against full-width vectors.`,
    '',
    ...partialLine(r),
    '```sh',
    command,
    '```',
    '',
    '### Targets (general)',
    '',
    ...acceptanceTable(r.acceptance),
    '',
    ...(r.tasks.some((t) => t.task !== 'fmnist' && t.status === 'ok')
      ? [`![recall@10 by query width](../eval/${r.model}-general-nesting.svg)`, '']
      : []),
    ...taskSections(r, '###'),
    GENERAL_END,
  ].join('\n');
}

/** `text` with its general section replaced by `section` (appended when it has none). */
export function withSection(text: string, section: string): string {
  const a = text.indexOf(GENERAL_START);
  const b = text.indexOf(GENERAL_END);
  if (a >= 0 && b > a) return text.slice(0, a) + section + text.slice(b + GENERAL_END.length);
  return `${text.replace(/\n*$/, '')}\n\n${section}\n`;
}

/** The existing general section of a card file, or null. */
export function existingSection(path: string): string | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(GENERAL_START);
  const b = text.indexOf(GENERAL_END);
  return a >= 0 && b > a ? text.slice(a, b + GENERAL_END.length) : null;
}

/** Adds (or replaces) the section in `<dir>/<model>.md`; returns the card's path. */
export function writeGeneralCard(r: GeneralReport, dir: string, command: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${r.model}.md`);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `# Model card: ${r.model}\n`;
  writeFileSync(path, withSection(text, generalSection(r, command)));
  return path;
}

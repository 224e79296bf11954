/** Small timing and reporting helpers shared by the benchmarks. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { ValidationError } from '../src/errors.js';

/** The median of `xs`: its middle value once sorted (the upper middle for an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

/** Median of `reps` timed runs after `warmup` untimed ones, in ms. */
export function timeMedian(
  fn: () => void,
  reps: number,
  warmup = 1,
): { median: number; min: number; max: number } {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)]!, min: t[0]!, max: t[t.length - 1]! };
}

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    node: process.version,
    date: new Date().toISOString(),
    /** 1-minute load average when the report was written: above ~0.5, something else ran. */
    load: +loadavg()[0]!.toFixed(2),
  };
}

export function writeReport(jsonPath: string, json: unknown, mdPath: string, md: string): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(mdPath, md);
  console.log(`wrote ${jsonPath} and ${mdPath}`);
}

export function mdTable(head: string[], rows: (string | number)[][]): string {
  const line = (r: (string | number)[]) => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** The values of options that must be positive integers, in the order of `keys`. */
export function positiveInts(
  values: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): number[] {
  return keys.map((k) => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 1)
      throw new ValidationError(`--${k} must be a positive integer`);
    return v;
  });
}

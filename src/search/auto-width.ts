/**
 * The width dial's automatic setting: the widest standard width whose expected latency fits the
 * budget, where the expected latency of a request counts the queue ahead of it. A request that
 * arrives behind `waiting` others, with `concurrency` served at once, waits about
 * waiting / concurrency encodes before its own:
 *
 *   expected(w) = encode_ms(w) * (1 + waiting / concurrency)
 *
 * so as the queue grows the width steps down, draining it faster, long before the gate is full
 * and answers 503. The encode latencies are the searcher's moving averages, measured under the
 * load the server is actually seeing.
 */
import { STANDARD_WIDTHS } from '../model/widths.js';

export interface Load {
  /** Requests waiting for a search slot now. */
  readonly waiting: number;
  /** Searches served at once. */
  readonly concurrency: number;
}

export interface WidthChoice {
  readonly width: string;
  /** The expected latency of the choice (ms), queue included. */
  readonly expectedMs: number;
  /** Why this width, for the response. */
  readonly reason: string;
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/**
 * Picks a width from measured encode latencies (ms per width label, widest first in
 * `widths`). Every width in `widths` must have a latency.
 */
export function chooseWidth(
  budgetMs: number,
  latencyMs: ReadonlyMap<string, number>,
  load: Load = { waiting: 0, concurrency: 1 },
  widths: readonly string[] = STANDARD_WIDTHS,
): WidthChoice {
  const factor = 1 + Math.max(0, load.waiting) / Math.max(1, load.concurrency);
  const queue =
    load.waiting > 0
      ? ` with ${load.waiting} waiting for ${load.concurrency} slot${load.concurrency === 1 ? '' : 's'}`
      : '';
  for (const w of widths) {
    const ms = latencyMs.get(w);
    if (ms === undefined) throw new RangeError(`no measured latency for width ${w}`);
    const expected = ms * factor;
    if (expected <= budgetMs)
      return {
        width: w,
        expectedMs: expected,
        reason:
          `auto: ${w} is the widest width expected within ${fmt(budgetMs)} ms` +
          `${queue} (encode ${fmt(ms)} ms, expected ${fmt(expected)} ms)`,
      };
  }
  const narrowest = widths[widths.length - 1]!;
  const ms = latencyMs.get(narrowest)!;
  return {
    width: narrowest,
    expectedMs: ms * factor,
    reason:
      `auto: no width fits ${fmt(budgetMs)} ms${queue}; ${narrowest} is the narrowest ` +
      `(encode ${fmt(ms)} ms, expected ${fmt(ms * factor)} ms)`,
  };
}

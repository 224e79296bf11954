/**
 * The joint nested training recipe of MatMamba (after MatFormer): g granularities; each
 * micro-step takes the next granularity round-robin on its own mini-batch, its loss divided by g;
 * gradients accumulate and one optimizer step follows every g micro-steps.
 *
 * With data parallelism each micro-batch is split into worker shards; a shard's loss is scaled
 * by (shard size / micro-batch size) / g, so the sum of all shards' gradients is exactly the
 * gradient of (1/g) Σ_granularity mean-loss(micro-batch).
 */
import type { MicroBatch } from './step.js';
import type { Sampler } from './data.js';

/** The standard granularities, full width first as in the official loop. */
export const JOINT_LEVELS = ['1', '1/2', '1/4', '1/8'] as const;

/** Deterministic augmentation seed of (run seed, optimizer step, micro-step). */
export function microSeed(seed: number, step: number, micro: number): number {
  return ((seed * 2_654_435_761) ^ (step * 40_503 + micro * 977)) >>> 0;
}

/**
 * Plans one optimizer step: for every granularity a fresh micro-batch of `units` sampler units,
 * split into `shards` shards at unit boundaries (default one per worker), shard s going to worker
 * s mod `workers`. Returns each worker's list of micro-batches. The step's arithmetic depends on
 * the shards, not on the workers: a run planned with 2 shards computes the same gradients on one
 * worker (each shard in turn, which also bounds a worker's graph) as on two.
 */
export function planStep(
  levels: readonly string[],
  sampler: Pick<Sampler, 'next'>,
  units: number,
  workers: number,
  seed: number,
  step: number,
  shards = workers,
): MicroBatch[][] {
  const g = levels.length;
  const plan: MicroBatch[][] = Array.from({ length: workers }, () => []);
  levels.forEach((width, micro) => {
    const batch = sampler.next(units); // units × unitSize images
    const total = batch.reduce((n, u) => n + u.length, 0);
    const base = microSeed(seed, step, micro);
    let offset = 0;
    for (let sh = 0; sh < shards; sh++) {
      const lo = Math.floor((sh * units) / shards);
      const hi = Math.floor(((sh + 1) * units) / shards);
      const indices = batch.slice(lo, hi).flat();
      if (indices.length > 0) {
        plan[sh % workers]!.push({
          width,
          indices,
          seed: (base + offset * 7919) >>> 0,
          scale: indices.length / total / g,
        });
      }
      offset += indices.length;
    }
  });
  return plan;
}

/**
 * AdamW (Loshchilov & Hutter 2019) on plain named Float32Arrays, with decoupled weight decay on
 * matrices only (params of rank >= 2, as the official recipe), and global-norm gradient clipping.
 * Kept outside tfjs so the trainer's state is easy to average, checkpoint and resume exactly.
 */
export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.05,
};

export class AdamW {
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  step = 0;

  constructor(
    private readonly params: Map<string, Float32Array>,
    private readonly decayed: ReadonlySet<string>,
    private readonly o: AdamWOptions = ADAMW_DEFAULTS,
  ) {
    for (const [k, p] of params) {
      this.m.set(k, new Float32Array(p.length));
      this.v.set(k, new Float32Array(p.length));
    }
  }

  /** One update in place: θ ← θ - lr·(m̂/(√v̂+ε) + wd·θ) (wd only for decayed params). */
  update(grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.o;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    for (const [k, p] of this.params) {
      const g = grads.get(k);
      if (!g) throw new Error(`no gradient for '${k}'`);
      const m = this.m.get(k)!;
      const v = this.v.get(k)!;
      const wd = this.decayed.has(k) ? weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        p[i] = p[i]! - lr * (m[i]! / bc1 / (Math.sqrt(v[i]! / bc2) + eps) + wd * p[i]!);
      }
    }
  }
}

/** Scales all gradients so their global L2 norm is at most maxNorm. Returns the norm before. */
export function clipGlobalNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let sq = 0;
  for (const g of grads.values()) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * s;
  }
  return norm;
}

/** Linear warm-up to `peak`, then cosine decay to peak·minRatio at `total`. */
export function learningRate(
  step: number,
  o: { peak: number; warmup: number; total: number; minRatio: number },
): number {
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, o.total - o.warmup));
  const min = o.peak * o.minRatio;
  return min + 0.5 * (o.peak - min) * (1 + Math.cos(Math.PI * t));
}

/**
 * An independent float64 reference of MatMamba-Vision for tests: plain loops over plain arrays,
 * the Mamba2 mixer as its step-by-step recurrence (no chunking, no tfjs). Each layer's inner width
 * is read off its own weights, so a nested submodel is checked by feeding weights sliced by
 * `sliceForWidths` below, which restates the nesting rule from the paper independently of
 * src/model/nesting.ts.
 */
export type Weights = ReadonlyMap<string, ArrayLike<number>>;

export interface RefConfig {
  dModel: number;
  nLayer: number;
  dState: number;
  dConv: number;
  headDim: number;
  patchSize: number;
  imageSize: number;
  inChans: number;
  nClasses: number;
  normEps: number;
  expand: number;
  /** 'avg': the mean over the patch tokens (CLS left out) after the final norm; default 'cls'. */
  pool?: 'cls' | 'avg';
}

const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const silu = (v: number) => v * sigmoid(v);

function get(w: Weights, name: string): ArrayLike<number> {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

/** out[r] = sum_c W[r, c] x[c] (+ b[r]); W row-major [rows, cols]. */
function matvec(
  W: ArrayLike<number>,
  x: ArrayLike<number>,
  rows: number,
  cols: number,
  b?: ArrayLike<number>,
) {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b[r]! : 0;
    for (let c = 0; c < cols; c++) s += W[r * cols + c]! * x[c]!;
    out[r] = s;
  }
  return out;
}

function layerNorm(x: Float64Array, w: ArrayLike<number>, b: ArrayLike<number>, eps: number) {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let v2 = 0;
  for (const v of x) v2 += (v - mean) ** 2;
  const inv = 1 / Math.sqrt(v2 / n + eps);
  return x.map((v, i) => (v - mean) * inv * w[i]! + b[i]!);
}

/** One Mamba2 mixer over a sequence u: [L][D], by the recurrence. */
export function refMixer(
  cfg: RefConfig,
  w: Weights,
  prefix: string,
  u: Float64Array[],
): Float64Array[] {
  const D = cfg.dModel;
  const N = cfg.dState;
  const K = cfg.dConv;
  const P = cfg.headDim;
  const E = get(w, `${prefix}norm.weight`).length;
  const H = E / P;
  const L = u.length;
  const inW = get(w, `${prefix}in_proj.weight`);
  const rows = 2 * E + 2 * N + H;
  const proj = u.map((ut) => matvec(inW, ut, rows, D));
  const convW = get(w, `${prefix}conv1d.weight`);
  const convB = get(w, `${prefix}conv1d.bias`);
  const C = E + 2 * N;
  const xBC = proj.map((_, t) => {
    const o = new Float64Array(C);
    for (let ch = 0; ch < C; ch++) {
      let s = convB[ch]!;
      for (let k = 0; k < K; k++) {
        const src = t - (K - 1) + k;
        if (src >= 0) s += convW[ch * K + k]! * proj[src]![E + ch]!;
      }
      o[ch] = silu(s);
    }
    return o;
  });
  const dtBias = get(w, `${prefix}dt_bias`);
  const ALog = get(w, `${prefix}A_log`);
  const Dskip = get(w, `${prefix}D`);
  const normW = get(w, `${prefix}norm.weight`);
  const outW = get(w, `${prefix}out_proj.weight`);
  const state = new Float64Array(H * P * N);
  const out: Float64Array[] = [];
  for (let t = 0; t < L; t++) {
    const y = new Float64Array(E);
    const xt = xBC[t]!;
    for (let h = 0; h < H; h++) {
      const dt = softplus(proj[t]![2 * E + 2 * N + h]! + dtBias[h]!);
      const decay = Math.exp(-Math.exp(ALog[h]!) * dt);
      for (let p = 0; p < P; p++) {
        const xv = xt[h * P + p]!;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const i = (h * P + p) * N + n;
          state[i] = state[i]! * decay + dt * xv * xt[E + n]!;
          acc += state[i]! * xt[E + N + n]!;
        }
        y[h * P + p] = acc + Dskip[h]! * xv;
      }
    }
    // gate, then RMS over the E active channels
    let ms = 0;
    for (let i = 0; i < E; i++) {
      y[i] = y[i]! * silu(proj[t]![i]!);
      ms += y[i]! ** 2;
    }
    const inv = 1 / Math.sqrt(ms / E + cfg.normEps);
    for (let i = 0; i < E; i++) y[i] = y[i]! * inv * normW[i]!;
    out.push(matvec(outW, y, D, E));
  }
  return out;
}

/** Features and logits of one image (NHWC, [S, S, C] flattened). */
export function refForward(cfg: RefConfig, w: Weights, image: ArrayLike<number>) {
  const { dModel: D, patchSize: p, imageSize: S, inChans: Cin } = cfg;
  const g = S / p;
  const peW = get(w, 'patch_embed.proj.weight');
  const peB = get(w, 'patch_embed.proj.bias');
  const pos = get(w, 'pos_embed');
  const cls = get(w, 'cls_token');
  let seq: Float64Array[] = [];
  for (let gi = 0; gi < g; gi++) {
    for (let gj = 0; gj < g; gj++) {
      const vec = new Float64Array(Cin * p * p);
      for (let c = 0; c < Cin; c++)
        for (let i = 0; i < p; i++)
          for (let j = 0; j < p; j++)
            vec[(c * p + i) * p + j] = image[((gi * p + i) * S + gj * p + j) * Cin + c]!;
      seq.push(matvec(peW, vec, D, Cin * p * p, peB));
    }
  }
  seq.push(Float64Array.from(cls));
  seq = seq.map((t, i) => t.map((v, d) => v + pos[i * D + d]!));
  for (let l = 0; l < cfg.nLayer; l++) {
    const normed = seq.map((t) =>
      layerNorm(t, get(w, `layers.${l}.norm.weight`), get(w, `layers.${l}.norm.bias`), cfg.normEps),
    );
    const mixed = refMixer(cfg, w, `layers.${l}.mixer.`, normed);
    seq = seq.map((t, i) => t.map((v, d) => v + mixed[i]![d]!));
  }
  const normF = (t: Float64Array) =>
    layerNorm(t, get(w, 'norm_f.weight'), get(w, 'norm_f.bias'), cfg.normEps);
  let features: Float64Array;
  if (cfg.pool === 'avg') {
    const patches = seq.slice(0, -1).map(normF); // every token but the CLS suffix
    features = new Float64Array(D);
    for (const t of patches) for (let d = 0; d < D; d++) features[d]! += t[d]! / patches.length;
  } else features = normF(seq[seq.length - 1]!);
  const logits =
    cfg.nClasses > 0
      ? matvec(get(w, 'head.weight'), features, cfg.nClasses, D, get(w, 'head.bias'))
      : null;
  return { features, logits };
}

/**
 * The MatMamba nesting rule, restated for the test: layer l at active model dim d keeps the first
 * e = expand·d rows of z and of x in in_proj, all B and C rows, the first e/headDim dt rows; the
 * first e x-channels and all B, C channels of the conv; the first e/headDim entries of dt_bias,
 * A_log and D; the first e of the norm weight; the first e columns of out_proj.
 */
export function sliceForWidths(
  cfg: RefConfig,
  full: Weights,
  layerDims: readonly number[],
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of full) out.set(k, Float32Array.from(v));
  const D = cfg.dModel;
  const N = cfg.dState;
  const K = cfg.dConv;
  const Efull = cfg.expand * D;
  const Hfull = Efull / cfg.headDim;
  layerDims.forEach((d, l) => {
    const e = cfg.expand * d;
    const h = e / cfg.headDim;
    const m = `layers.${l}.mixer.`;
    const inW = get(full, `${m}in_proj.weight`);
    const keepRows = [
      ...range(0, e),
      ...range(Efull, Efull + e),
      ...range(2 * Efull, 2 * Efull + 2 * N),
      ...range(2 * Efull + 2 * N, 2 * Efull + 2 * N + h),
    ];
    out.set(
      `${m}in_proj.weight`,
      Float32Array.from(
        keepRows.flatMap((r) => Array.from({ length: D }, (_, c) => inW[r * D + c]!)),
      ),
    );
    const convRows = [...range(0, e), ...range(Efull, Efull + 2 * N)];
    const cw = get(full, `${m}conv1d.weight`);
    const cb = get(full, `${m}conv1d.bias`);
    out.set(
      `${m}conv1d.weight`,
      Float32Array.from(
        convRows.flatMap((r) => Array.from({ length: K }, (_, k) => cw[r * K + k]!)),
      ),
    );
    out.set(`${m}conv1d.bias`, Float32Array.from(convRows.map((r) => cb[r]!)));
    for (const name of ['dt_bias', 'A_log', 'D']) {
      const t = get(full, m + name);
      if (t.length !== Hfull) throw new Error('unexpected head count');
      out.set(
        m + name,
        Float32Array.from({ length: h }, (_, i) => t[i]!),
      );
    }
    const nw = get(full, `${m}norm.weight`);
    out.set(
      `${m}norm.weight`,
      Float32Array.from({ length: e }, (_, i) => nw[i]!),
    );
    const ow = get(full, `${m}out_proj.weight`);
    out.set(
      `${m}out_proj.weight`,
      Float32Array.from({ length: D * e }, (_, i) => ow[Math.floor(i / e) * Efull + (i % e)]!),
    );
  });
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

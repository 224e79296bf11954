/**
 * What int8 costs in retrieval quality: the held-out emoji retrieval of `matsearch eval --data
 * emoji` (every image queries the other vendors' images; relevant = the same emoji), embedded
 * by the ONNX encoder in fp32 and in int8, side by side, at every standard width.
 *   npm run bench -- int8-quality [--model DIR ...]   (default: emoji-tiny and general-tiny)
 * The mAP@10 change is per query (int8 minus fp32) with a 95% bootstrap interval over emoji.
 * Writes docs/bench/int8-quality.{json,md}. Needs `npm run data` (the emoji set).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { imageAt, imageCount } from '../src/data/image-set.js';
import { resolveModelDir } from '../src/embed/open.js';
import { clusterBootstrap } from '../src/eval/bootstrap.js';
import { rankTopK } from '../src/eval/rank.js';
import { apAt10PerQuery, metricsFromRanks } from '../src/eval/retrieval.js';
import { initBackend } from '../src/model/backend.js';
import { STANDARD_WIDTHS } from '../src/model/widths.js';
import { OrtEmbedder } from '../src/runtime/ort-embedder.js';
import { PRECISIONS } from '../src/runtime/quantize.js';
import { centerView } from '../src/train/augment.js';
import { loadSplit } from '../src/train/data.js';
import { machine, mdTable, writeReport } from './util.js';

/** What int8 changes for one model: a row per standard width. */
interface Row {
  width: string;
  mapFp32: number;
  mapInt8: number;
  changePoints: number;
  ci95: number[];
  cosine: { mean: number; min: number };
}

export async function benchInt8Quality(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string', multiple: true } },
  });
  await initBackend({ purpose: 'inference' }); // rankTopK runs on tfjs
  const dirs = (values.model ?? [EMOJI_TINY, undefined]).map((m) => resolveModelDir(m));
  const set = loadSplit({ kind: 'emoji', splitSeed: 0 }, 'test');
  const n = imageCount(set);
  const models: { model: string; rows: Row[] }[] = [];
  for (const dir of dirs) models.push({ model: embeddersId(dir), rows: await measure(dir, set) });
  const mc = machine();
  const md =
    `# int8 retrieval quality\n\n` +
    `\`npm run bench -- int8-quality\` on ${mc.cpu} (${mc.cores} cores), ${mc.date}. Held-out ` +
    `emoji (${n} images): each queries the other vendors' images, relevant = the same emoji (as ` +
    `\`matsearch eval --data emoji\`). mAP@10 in %, the change in points per query (int8 - fp32), ` +
    `95% bootstrap interval over emoji.\n` +
    models
      .map(
        ({ model, rows }) =>
          `\n## \`${model}\`\n\n` +
          mdTable(
            [
              'width',
              'mAP@10 fp32',
              'mAP@10 int8',
              'change (points)',
              '95% interval',
              'cosine mean',
              'cosine min',
            ],
            rows.map((r) => [
              r.width,
              r.mapFp32,
              r.mapInt8,
              r.changePoints,
              `[${r.ci95.join(', ')}]`,
              r.cosine.mean,
              r.cosine.min,
            ]),
          ),
      )
      .join('');
  writeReport(
    'docs/bench/int8-quality.json',
    { machine: mc, images: n, models },
    'docs/bench/int8-quality.md',
    md,
  );
}

const EMOJI_TINY = fileURLToPath(new URL('../../models/emoji-tiny', import.meta.url));

async function measure(dir: string, set: ReturnType<typeof loadSplit>): Promise<Row[]> {
  const n = imageCount(set);
  const rows: Row[] = [];
  const embedders = await Promise.all(
    PRECISIONS.map((precision) => OrtEmbedder.load(dir, { precision })),
  );
  try {
    const { inputSize: S, inputChannels: C, dim: D } = embedders[0]!;
    const inputs = Array.from({ length: n }, (_, i) => {
      const out = new Float32Array(S * S * C);
      centerView(imageAt(set, i), set.size, set.channels, S, C, out);
      return out;
    });
    const labels = set.labels;
    const groups = set.groups!;
    const skip = (q: number, j: number) => groups[j] === groups[q];
    const isRelevant = (q: number, j: number) => labels[j] === labels[q];
    const relevant = (q: number) => {
      let c = 0;
      for (let j = 0; j < n; j++) if (isRelevant(q, j) && !skip(q, j)) c++;
      return c;
    };
    for (const width of STANDARD_WIDTHS) {
      const ap: Float64Array[] = [];
      const maps: number[] = [];
      const vecs: Float32Array[] = [];
      for (const e of embedders) {
        const F = new Float32Array(n * D);
        for (let s = 0; s < n; s += 64)
          (await e.embed(inputs.slice(s, s + 64), width)).forEach((v, i) => F.set(v, (s + i) * D));
        const ranks = rankTopK(F, F, D, 10, skip);
        const a = apAt10PerQuery(ranks, isRelevant, relevant);
        ap.push(a);
        maps.push(metricsFromRanks(ranks, isRelevant, relevant, a).mapAt10);
        vecs.push(F);
      }
      const ok = Array.from(ap[0]!.keys()).filter((q) => !Number.isNaN(ap[0]![q]!));
      const diff = Float64Array.from(ok, (q) => ap[1]![q]! - ap[0]![q]!);
      const b = clusterBootstrap(
        diff,
        Int32Array.from(ok, (q) => labels[q]!),
      );
      let cosSum = 0;
      let cosMin = 1;
      for (let i = 0; i < n; i++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += vecs[0]![i * D + d]! * vecs[1]![i * D + d]!;
        cosSum += dot;
        cosMin = Math.min(cosMin, dot);
      }
      const pts = (x: number) => +(100 * x).toFixed(2);
      rows.push({
        width,
        mapFp32: pts(maps[0]!),
        mapInt8: pts(maps[1]!),
        changePoints: pts(b.mean),
        ci95: [pts(b.lo), pts(b.hi)],
        cosine: { mean: +(cosSum / n).toFixed(5), min: +cosMin.toFixed(5) },
      });
      console.log(JSON.stringify(rows.at(-1)));
    }
  } finally {
    await Promise.all(embedders.map((e) => e.close()));
  }
  return rows;
}

/** The model folder as its last two parts ("models/emoji-tiny"). */
function embeddersId(dir: string): string {
  return dir.split('/').slice(-2).join('/');
}

/** The ingest benchmark's report: the Markdown table and the SVG figure from bench/ingest.ts. */
import { lineChart, type Series } from '../src/util/svg-plot.js';
import { machine, mdTable } from './util.js';

/** A throughput: median seconds and its images/s, with the slowest and fastest rep's images/s. */
export interface Rate {
  seconds: number;
  imagesPerS: number;
  min: number;
  max: number;
}

export interface IngestWidthRow {
  width: string;
  macs: number;
  /** The whole ingest through the library API. */
  endToEnd: Rate;
  /** The same images embedded in batches one after another, nothing else running. */
  encoderAlone: Rate;
  /** Time inside `embed` during the ingest, as a fraction of its wall time (median). */
  encoderBusy: number;
}

export interface IngestResult {
  bench: 'ingest';
  machine: ReturnType<typeof machine>;
  minutes: number;
  load: { start: number; end: number };
  source: string;
  files: number;
  embedded: number;
  failed: number;
  model: { id: string; random: boolean; dir: string | null };
  reps: number;
  batch: number;
  concurrency: number;
  /** Ingest with a stand-in encoder that answers at once: decode, thumbnails, writes. */
  noEncoder: Rate;
  widths: IngestWidthRow[];
}

const range = (r: Rate) => `${r.imagesPerS} (${r.min}-${r.max})`;

/** images/s if decoding and encoding took turns (no overlap), from their rates alone. */
const serial = (a: number, b: number) => 1 / (1 / a + 1 / b);

/** Where end to end lies between the serial (0) and the overlapped bound (1). */
function overlap(d: number, w: IngestWidthRow): number {
  const e = w.encoderAlone.imagesPerS;
  const lo = serial(d, e);
  return (w.endToEnd.imagesPerS - lo) / (Math.min(d, e) - lo);
}

/** Which stage is the slower one at which widths, and how busy the encoder was. */
function whereTimeGoes(r: IngestResult): string {
  const d = r.noEncoder.imagesPerS;
  const [first, last] = [r.widths[0]!, r.widths[r.widths.length - 1]!];
  const encoderSlower = r.widths.filter((w) => w.encoderAlone.imagesPerS < d).map((w) => w.width);
  const slower =
    encoderSlower.length === 0
      ? `Decoding (with thumbnails and writes) is the slower stage at every width`
      : encoderSlower.length === r.widths.length
        ? `The encoder is the slower stage at every width`
        : `The encoder is the slower stage at ${encoderSlower.join(', ')}, decoding (with ` +
          `thumbnails and writes) at the narrower widths`;
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  return (
    `${slower}: ${d} images/s without an encoder, against ${first.encoderAlone.imagesPerS} ` +
    `images/s for the encoder alone at width ${first.width} and ${last.encoderAlone.imagesPerS} ` +
    `at ${last.width}. The encoder is busy ${pct(first.encoderBusy)} of the ingest at width ` +
    `${first.width} and ${pct(last.encoderBusy)} at ${last.width}. Both stages run on the same ` +
    `${r.machine.cores} cores (the encoder's worker threads, sharp's threads), so the overlapped ` +
    `bound needs cores to spare; **overlap** places end to end between the serial bound (0%) ` +
    `and the overlapped bound (100%): ` +
    r.widths.map((w) => `${pct(overlap(d, w))} at ${w.width}`).join(', ') +
    '.'
  );
}

export function report(r: IngestResult): string {
  const d = r.noEncoder.imagesPerS;
  const full = r.widths[0]!;
  const rows = r.widths.map((w) => {
    const e = w.encoderAlone.imagesPerS;
    return [
      w.width,
      (w.macs / 1e6).toFixed(1),
      range(w.endToEnd),
      w.endToEnd.seconds,
      `${(w.endToEnd.imagesPerS / full.endToEnd.imagesPerS).toFixed(2)}x`,
      range(w.encoderAlone),
      `${(100 * w.encoderBusy).toFixed(0)}%`,
      serial(d, e).toFixed(1),
      Math.min(d, e).toFixed(1),
      `${(100 * overlap(d, w)).toFixed(0)}%`,
    ];
  });
  rows.push(['no encoder', '-', range(r.noEncoder), r.noEncoder.seconds, ...Array(6).fill('-')]);
  const model = r.model.random
    ? `a randomly initialised \`tiny\` for the emoji input (32 px RGB, 4 px patches), ` +
      `because no trained model was found (${r.model.id}; throughput does not depend on the weights)`
    : `${r.model.id} from ${r.model.dir}`;
  return (
    `# Ingest throughput per width\n\n` +
    `${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, ${r.machine.date}; ` +
    `whole run ${r.minutes} min, load average (1 min) ${r.load.start} at the start and ` +
    `${r.load.end} at the end. ${r.files} files: ${r.source} (${r.embedded} embedded, ` +
    `${r.failed} failed), copied to a temporary folder. Model: ${model}.\n\n` +
    `Each ingest goes through \`openLibrary(...).ingest\` into a fresh library (batches of ` +
    `${r.batch}, ${r.concurrency} files decoded at once, thumbnails and database writes ` +
    `included). Every rep runs, side by side in rotating order: ingest with a stand-in encoder ` +
    `that answers at once (**no encoder**: decode, thumbnails and writes alone), and per width ` +
    `the encoder **alone** on the same images in batches one after another, then the whole ` +
    `ingest with the time inside \`embed\` measured (**encoder busy**, of the ingest's wall ` +
    `time). Median of ${r.reps} rep(s), images/s of the slowest and fastest rep in brackets. ` +
    `**Serial bound**: decoding and encoding one after the other; **overlapped bound**: the ` +
    `slower of the two alone (perfect overlap). Compare within the table: absolute rates ` +
    `depend on the machine's load.\n\n` +
    mdTable(
      [
        'width',
        'MMACs/image',
        'images/s end to end',
        'seconds',
        'vs width 1',
        'encoder alone images/s',
        'encoder busy',
        'serial bound',
        'overlapped bound',
        'overlap',
      ],
      rows,
    ) +
    `\n${whereTimeGoes(r)}\n\n![images/s per width](ingest.svg)\n`
  );
}

export function plot(r: IngestResult): string {
  const x = (w: IngestWidthRow) => w.macs / 1e6;
  const xs = r.widths.map(x);
  const span = [Math.min(...xs), Math.max(...xs)];
  const d = r.noEncoder.imagesPerS;
  const series: Series[] = [
    {
      name: 'ingest, end to end',
      points: r.widths.map((w) => ({
        x: x(w),
        y: w.endToEnd.imagesPerS,
        lo: w.endToEnd.min,
        hi: w.endToEnd.max,
        label: w.width,
      })),
    },
    {
      name: 'encoder alone',
      points: r.widths.map((w) => ({
        x: x(w),
        y: w.encoderAlone.imagesPerS,
        lo: w.encoderAlone.min,
        hi: w.encoderAlone.max,
        label: w.width,
      })),
    },
    { name: 'no encoder', dashed: true, markers: false, points: span.map((v) => ({ x: v, y: d })) },
    {
      name: 'serial bound',
      dashed: true,
      markers: false,
      points: r.widths.map((w) => ({ x: x(w), y: serial(d, w.encoderAlone.imagesPerS) })),
    },
  ];
  return lineChart(series, {
    title: `Ingest throughput per width (${r.files} files)`,
    xLabel: 'MMACs per image (width)',
    yLabel: 'images per second',
    logX: true,
    logY: true,
  });
}

/**
 * What each query width costs in quality, for the UI's dial: the dial bench's measurement
 * (docs/bench/dial.json, `npm run bench -- dial`) for the model the server runs, matched by
 * model id, so figures of other weights are never shown. Null when the bench never measured it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DIAL_REPORT = fileURLToPath(new URL('../../docs/bench/dial.json', import.meta.url));

export interface WidthQuality {
  /** Where the figures come from (the report's path as the package names it). */
  readonly source: string;
  /** The evaluation set, e.g. "emoji held-out". */
  readonly set: string;
  readonly queries: number;
  /** mAP@10 and recall@10 (0-1) of a query at each width against the full-width vectors. */
  readonly mapAt10: Record<string, number>;
  readonly recallAt10: Record<string, number>;
  /** The bench's date and whether it was a quick (smoke) run. */
  readonly measured: string;
  readonly quick: boolean;
}

interface DialJson {
  readonly quick?: boolean;
  readonly machine?: { readonly date?: string };
  readonly models?: readonly {
    readonly modelId?: string;
    readonly widths?: readonly {
      readonly width: string;
      readonly quality?: Record<string, { queries: number; mapAt10: number; recallAt10: number }>;
    }[];
  }[];
}

/**
 * The quality per width measured for `modelId`, from its largest evaluation set; null when the
 * report is missing, unreadable or has no figures for this model.
 */
export function widthQuality(modelId: string, path = DIAL_REPORT): WidthQuality | null {
  let json: DialJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as DialJson;
  } catch {
    return null;
  }
  const model = json.models?.find((m) => m.modelId === modelId);
  const widths = model?.widths?.filter((w) => w.quality) ?? [];
  if (widths.length === 0) return null;
  const sets = Object.entries(widths[0]!.quality!).sort((a, b) => b[1].queries - a[1].queries);
  const [set, first] = sets[0] ?? [];
  if (set === undefined || first === undefined) return null;
  const pick = (f: 'mapAt10' | 'recallAt10') =>
    Object.fromEntries(
      widths.flatMap((w) => {
        const q = w.quality![set];
        return q && Number.isFinite(q[f]) ? [[w.width, q[f]]] : [];
      }),
    );
  return {
    source: 'docs/bench/dial.json',
    set,
    queries: first.queries,
    mapAt10: pick('mapAt10'),
    recallAt10: pick('recallAt10'),
    measured: json.machine?.date ?? '',
    quick: json.quick === true,
  };
}

/**
 * sharp, with every pipeline that decodes a file's pixels recorded: one made from encoded bytes
 * or a path (not raw pixels) that produces output. Header reads (`metadata()`) decode no pixels
 * and are not recorded. Records go to `globalThis.sharpDecodes`: the file's sha256 (or path)
 * and the size of the image the decode produced. Either of sharp's builds can be wrapped: the ES
 * one (counting-sharp.ts, for `import`) and the CommonJS one (register.ts, for `require`).
 */
import { createHash } from 'node:crypto';
import type Real from 'sharp';

export interface DecodeRecord {
  readonly file: string;
  readonly width: number;
  readonly height: number;
}

const g = globalThis as { sharpDecodes?: DecodeRecord[] };
const records = (g.sharpDecodes ??= []);

type Output = { info?: { width: number; height: number } } | Buffer;

/** `real` (either of sharp's builds) with every decoding pipeline recorded. */
export function countingSharp(real: typeof Real): typeof Real {
  const counting = (...args: Parameters<typeof real>): ReturnType<typeof real> =>
    record(real(...args), args);
  return Object.assign(counting, real) as typeof real;
}

function record(
  img: ReturnType<typeof Real>,
  args: Parameters<typeof Real>,
): ReturnType<typeof Real> {
  const [input, options] = args as [unknown, { raw?: unknown } | undefined];
  const encoded = (typeof input === 'string' || input instanceof Uint8Array) && !options?.raw;
  if (!encoded) return img;
  const file = typeof input === 'string' ? input : createHash('sha256').update(input).digest('hex');
  for (const name of ['toBuffer', 'toFile'] as const) {
    const original = img[name].bind(img) as (...a: unknown[]) => Promise<Output>;
    (img as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
      const out = await original(...a);
      const info = out && 'info' in out ? out.info : undefined;
      records.push({ file, width: info?.width ?? -1, height: info?.height ?? -1 });
      return out;
    };
  }
  return img;
}

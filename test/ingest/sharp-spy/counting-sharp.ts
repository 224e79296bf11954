/**
 * sharp, with every pipeline that decodes a file's pixels recorded: one made from encoded bytes
 * or a path (not raw pixels) that produces output. Header reads (`metadata()`) decode no pixels
 * and are not recorded. Records go to `globalThis.sharpDecodes`: the file's sha256 (or path)
 * and the size of the image the decode produced.
 */
import { createHash } from 'node:crypto';
import real from 'sharp';

export interface DecodeRecord {
  readonly file: string;
  readonly width: number;
  readonly height: number;
}

const g = globalThis as { sharpDecodes?: DecodeRecord[] };
const records = (g.sharpDecodes ??= []);

type Output = { info?: { width: number; height: number } } | Buffer;

function counting(...args: Parameters<typeof real>): ReturnType<typeof real> {
  const img = real(...args);
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

export default Object.assign(counting, real) as typeof real;

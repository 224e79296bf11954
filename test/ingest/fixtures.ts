/** Image files for ingest tests: distinct valid images in several formats, and hostile ones. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeConfig } from '../../src/model/config.js';
import { MatMambaVision } from '../../src/model/vision.js';
import { saveModel } from '../../src/model/weights.js';
import { Rng } from '../../src/util/rng.js';

/** Writes n distinct images (blocky random colours) as PNG/JPEG/WebP under dir. */
export async function writeImages(
  dir: string,
  n: number,
  seed = 0,
  prefix = 'img',
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = 24 + rng.int(40);
    const h = 24 + rng.int(40);
    const px = new Uint8Array(w * h * 3);
    const blocks = Array.from({ length: 12 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        px.set(blocks[(Math.floor(y / 8) * 3 + Math.floor(x / 8)) % 12]!, (y * w + x) * 3);
    const ext = ['png', 'jpg', 'webp'][i % 3]!;
    const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
    const buf =
      ext === 'png'
        ? await img.png().toBuffer()
        : ext === 'jpg'
          ? await img.jpeg({ quality: 95 }).toBuffer()
          : await img.webp().toBuffer();
    const p = join(dir, `${prefix}-${String(i).padStart(3, '0')}.${ext}`);
    writeFileSync(p, buf);
    out.push(p);
  }
  return out;
}

/**
 * An SVG that takes seconds to render whatever size it is decoded to (decoders shrink it on
 * load to the small work size, so the cost lies in its many turbulence layers, about 30 ms each
 * at 256 px on one core): libvips' own timeout cannot interrupt librsvg, only killing can.
 * `seed` makes distinct files.
 */
export function slowSvg(layers = 200, seed = 0): string {
  const body = Array.from(
    { length: layers },
    (_, i) =>
      `<filter id="f${i}"><feTurbulence seed="${seed * layers + i}" baseFrequency="0.0${(i % 9) + 1}" numOctaves="8"/></filter><rect width="100%" height="100%" opacity="0.5" filter="url(#f${i})"/>`,
  ).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000">${body}</svg>`;
}

/** Hostile files: each must become a recorded error, never a crash. */
export async function writeBadImages(dir: string): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true });
  const jpg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } })
    .jpeg()
    .toBuffer();
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#993366' } })
    .png()
    .toBuffer();
  const corrupt = Buffer.from(jpg);
  for (let i = 200; i < corrupt.length - 2; i += 7) corrupt[i] = corrupt[i]! ^ 0xff;
  // A 20000 x 20000 PNG: a valid header and a tiny body; the pixel cap must refuse it unread.
  const huge = await sharp({
    create: { width: 20000, height: 20000, channels: 3, background: '#000000' },
    limitInputPixels: false,
  })
    .png({ compressionLevel: 9 })
    .toBuffer();
  const files: Record<string, Buffer> = {
    'corrupt.jpg': corrupt.subarray(0, corrupt.length - 10),
    'truncated.png': png.subarray(0, Math.floor(png.length / 2)),
    'empty.png': Buffer.alloc(0),
    'text.jpg': Buffer.from('this is not an image\n'),
    'huge.png': huge,
  };
  const out: Record<string, string> = {};
  for (const [name, buf] of Object.entries(files)) {
    writeFileSync(join(dir, name), buf);
    out[name] = join(dir, name);
  }
  return out;
}

/**
 * A small random encoder saved to disk (so a child process can load the same weights); another
 * seed or name makes another model.
 */
export function saveTestModel(
  dir: string,
  o: {
    seed?: number;
    name?: string;
    extra?: Record<string, string>;
    trainedWidths?: string[];
  } = {},
): string {
  const cfg = makeConfig({
    dModel: 32,
    nLayer: 2,
    dState: 8,
    headDim: 4,
    patchSize: 4,
    imageSize: 16,
    nClasses: 0,
  });
  const m = MatMambaVision.create(cfg, o.seed ?? 7);
  saveModel(m, dir, {
    name: o.name ?? 'test-encoder',
    ...(o.extra ? { extra: o.extra } : {}),
    ...(o.trainedWidths ? { trainedWidths: o.trainedWidths } : {}),
  });
  m.dispose();
  return dir;
}

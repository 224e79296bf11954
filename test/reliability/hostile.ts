/**
 * A corpus of hostile image files, generated (seeded) by the tests: damaged files of every
 * format, files that lie about their size, SVG that tries to fetch or read things, and valid but
 * awkward images (EXIF rotation, CMYK, 16-bit, grey with alpha, thousands of GIF frames, a
 * 1-pixel-wide strip). Each entry says what the ingest must make of it.
 */
import sharp from 'sharp';
import { Rng } from '../../src/util/rng.js';

export interface HostileFile {
  /** File name (its extension is what the walk goes by). */
  readonly name: string;
  readonly bytes: Buffer;
  /** What it tests, for the report. */
  readonly kind: string;
  /**
   * 'error': must be recorded as a failure; 'image': must be embedded; 'either': a recorded
   * error or an embedding, never a crash or a hang.
   */
  readonly expect: 'error' | 'image' | 'either';
  /** For 'image': an equivalent plain 8-bit sRGB PNG the embedding must match. */
  readonly reference?: Buffer;
  /** For EXIF rotations: the image as stored, unrotated (the embedding must not match it). */
  readonly unrotated?: Buffer;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Blocky random colours, w x h, as raw RGB. */
function blocks(rng: Rng, w: number, h: number): Buffer {
  const colours = Array.from({ length: 9 }, () => [rng.int(256), rng.int(256), rng.int(256)]);
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      px.set(colours[Math.floor((3 * y) / h) * 3 + Math.floor((3 * x) / w)]!, (y * w + x) * 3);
  return px;
}

const raw = (px: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4 = 3) =>
  sharp(px, { raw: { width, height, channels } });

/** The same picture declared as D x D (D = 50000) in its header. */
function declareHuge(format: string, bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  const D = 50000;
  switch (format) {
    case 'png': {
      b.writeUInt32BE(D, 16);
      b.writeUInt32BE(D, 20);
      b.writeUInt32BE(crc32(b.subarray(12, 29)), 29); // CRC of 'IHDR' + its 13 bytes
      return b;
    }
    case 'jpeg': {
      for (let i = 2; i + 9 < b.length; i++)
        if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
          b.writeUInt16BE(D, i + 5); // [marker][len:2][precision:1][height:2][width:2]
          b.writeUInt16BE(D, i + 7);
          return b;
        }
      throw new Error('no SOF marker');
    }
    case 'gif': {
      b.writeUInt16LE(D, 6); // logical screen
      b.writeUInt16LE(D, 8);
      let at = 13 + (b[10]! & 0x80 ? 3 * 2 ** ((b[10]! & 7) + 1) : 0);
      while (b[at] === 0x21) {
        at += 2; // extension introducer, label, then sub-blocks
        while (b[at]! > 0) at += b[at]! + 1;
        at++;
      }
      if (b[at] !== 0x2c) throw new Error('no GIF image descriptor');
      b.writeUInt16LE(D, at + 5);
      b.writeUInt16LE(D, at + 7);
      return b;
    }
    case 'tiff': {
      const le = b.toString('latin1', 0, 2) === 'II';
      const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
      const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
      const ifd = u32(4);
      for (let e = 0; e < u16(ifd); e++) {
        const at = ifd + 2 + 12 * e;
        if (u16(at) !== 256 && u16(at) !== 257) continue;
        const short = u16(at + 2) === 3; // SHORT, else LONG
        if (short && le) b.writeUInt16LE(D, at + 8);
        else if (short) b.writeUInt16BE(D, at + 8);
        else if (le) b.writeUInt32LE(D, at + 8);
        else b.writeUInt32BE(D, at + 8);
      }
      return b;
    }
    case 'webp': {
      // Wrap the VP8 bitstream in an extended (VP8X) file whose canvas claims D x D.
      const vp8 = b.subarray(12);
      const x = Buffer.alloc(18);
      x.write('VP8X', 0, 'latin1');
      x.writeUInt32LE(10, 4);
      x.writeUIntLE(D - 1, 12, 3);
      x.writeUIntLE(D - 1, 15, 3);
      const head = Buffer.alloc(12);
      head.write('RIFF', 0, 'latin1');
      head.writeUInt32LE(4 + x.length + vp8.length, 4);
      head.write('WEBP', 8, 'latin1');
      return Buffer.concat([head, x, vp8]);
    }
    default:
      throw new Error(format);
  }
}

/** An animated GIF of `frames` 8x8 frames (the first one also returned as a PNG). */
async function manyFrames(frames: number): Promise<{ gif: Buffer; first: Buffer }> {
  const px = Buffer.alloc(8 * 8 * frames * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + (i >> 6)) & 255;
  const gif = await sharp(px, { raw: { width: 8, height: 8 * frames, channels: 3, pageHeight: 8 } })
    .gif()
    .toBuffer();
  const first = await sharp(gif, { animated: false }).png().toBuffer();
  return { gif, first };
}

/**
 * SVGs that reach out: http:// and file:// references of every kind, script, XInclude, external
 * and recursive entities, and a 50000 x 50000 canvas. `url` is a local HTTP server that counts
 * requests; `localPng` a red PNG on disk (if any SVG drew it, its thumbnail would turn red).
 */
export function hostileSvgs(url: string, localPng: string): HostileFile[] {
  const head = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">`;
  const svg = (
    name: string,
    kind: string,
    body: string,
    expect: HostileFile['expect'],
    pre = '',
  ) => ({
    name,
    kind,
    expect,
    bytes: Buffer.from(`${pre}${head}<rect width="64" height="64" fill="#ffffff"/>${body}</svg>`),
  });
  return [
    svg(
      'svg-external-refs.svg',
      'SVG: http references (image, use, filter, style, CSS import, font)',
      `<style>@import url("${url}/import.css"); @font-face { font-family: x; src: url("${url}/font.woff"); } text { font-family: x; }</style>
       <image href="${url}/image.png" width="64" height="64"/>
       <image xlink:href="${url}/xlink.png" width="64" height="64"/>
       <use xlink:href="${url}/use.svg#x"/>
       <rect width="64" height="64" fill="url(${url}/paint.svg#p)" filter="url(${url}/filter.svg#f)"/>
       <text x="2" y="20">a</text>`,
      'image',
    ),
    svg(
      'svg-script.svg',
      'SVG: script, event handlers, foreignObject iframe',
      `<script type="text/javascript">fetch("${url}/script");</script>
       <rect width="10" height="10" onload="fetch('${url}/onload')"/>
       <foreignObject width="64" height="64"><iframe xmlns="http://www.w3.org/1999/xhtml" src="${url}/iframe"/></foreignObject>`,
      'image',
    ),
    svg(
      'svg-local-file.svg',
      'SVG: file:// and absolute-path references to a local image',
      `<image href="file://${localPng}" width="64" height="64"/>
       <image xlink:href="${localPng}" width="64" height="64"/>`,
      'image',
    ),
    svg(
      'svg-xinclude.svg',
      'SVG: XInclude of a URL and a local file',
      `<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${url}/xinclude"/>
       <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>`,
      'either',
    ),
    svg(
      'svg-xxe.svg',
      'SVG: external entities (http and /etc/passwd)',
      `<text x="2" y="20">&web;&passwd;</text>`,
      'either',
      `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY web SYSTEM "${url}/entity"><!ENTITY passwd SYSTEM "file:///etc/passwd">]>`,
    ),
    svg(
      'svg-billion-laughs.svg',
      'SVG: recursive entity expansion (billion laughs)',
      `<text x="2" y="20">&l9;</text>`,
      'either',
      `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "lol">${Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
      ).join('')}]>`,
    ),
    { name: 'zero-bytes.svg', kind: 'zero bytes', expect: 'error', bytes: Buffer.alloc(0) },
    {
      name: 'text.svg',
      kind: 'text with an image extension',
      expect: 'error',
      bytes: Buffer.from('hello, this is not an image\n'),
    },
    {
      name: 'svg-huge-canvas.svg',
      kind: 'SVG: 50000 x 50000 canvas',
      expect: 'error',
      bytes: Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="50000" height="50000"><rect width="50000" height="50000"/></svg>`,
      ),
    },
  ];
}

/** Every hostile raster file (SVGs come from `hostileSvgs`). */
export async function hostileRasters(seed: number): Promise<HostileFile[]> {
  const rng = new Rng(seed);
  const out: HostileFile[] = [];
  const W = 64;
  const H = 48;
  const base = raw(blocks(rng, W, H), W, H);
  const encoded: Record<string, Buffer> = {
    jpeg: await base.clone().jpeg({ quality: 90 }).toBuffer(),
    png: await base.clone().png().toBuffer(),
    webp: await base.clone().webp().toBuffer(),
    gif: await base.clone().gif().toBuffer(),
    tiff: await base.clone().tiff().toBuffer(),
  };
  const ext: Record<string, string> = {
    jpeg: 'jpg',
    png: 'png',
    webp: 'webp',
    gif: 'gif',
    tiff: 'tif',
  };
  for (const [format, bytes] of Object.entries(encoded)) {
    const e = ext[format]!;
    for (const [label, n] of [
      ['half', bytes.length >> 1],
      ['tenth', Math.floor(bytes.length / 10)],
      ['minus-8', bytes.length - 8],
    ] as const)
      out.push({
        name: `truncated-${label}.${e}`,
        kind: `${format}: truncated`,
        expect: 'either',
        bytes: bytes.subarray(0, n),
      });
    for (const flips of [1, 8, 64]) {
      const b = Buffer.from(bytes);
      for (let i = 0; i < flips; i++) {
        const at = 32 + rng.int(b.length - 32);
        b[at] = b[at]! ^ (1 << rng.int(8));
      }
      out.push({
        name: `flipped-${flips}.${e}`,
        kind: `${format}: bit-flipped`,
        expect: 'either',
        bytes: b,
      });
    }
    const header = Buffer.from(bytes);
    for (let i = 0; i < 4; i++) {
      const at = 4 + rng.int(28);
      header[at] = header[at]! ^ (1 << rng.int(8));
    }
    out.push({
      name: `flipped-header.${e}`,
      kind: `${format}: bit-flipped header`,
      expect: 'either',
      bytes: header,
    });
    out.push({
      name: `declared-50000x50000.${e}`,
      kind: `${format}: declares 50000 x 50000`,
      expect: 'error',
      bytes: declareHuge(format, bytes),
    });
    out.push({
      name: `zero-bytes.${e}`,
      kind: 'zero bytes',
      expect: 'error',
      bytes: Buffer.alloc(0),
    });
    out.push({
      name: `text.${e}`,
      kind: 'text with an image extension',
      expect: 'error',
      bytes: Buffer.from('hello, this is not an image\n'.repeat(3)),
    });
  }

  // Valid but awkward: each must give the embedding of its plain 8-bit sRGB equivalent.
  const upright = await base.clone().png().toBuffer();
  for (let o = 2; o <= 8; o++) {
    // EXIF orientation o on the stored pixels; the upright view is what viewers show.
    const stored = await sharp(upright)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: o })
      .toBuffer();
    out.push({
      name: `exif-orientation-${o}.jpg`,
      kind: `EXIF orientation ${o}`,
      expect: 'image',
      bytes: stored,
      reference: await sharp(stored).rotate().png().toBuffer(),
      unrotated: await sharp(stored).png().toBuffer(),
    });
  }
  const cmykJpeg = await base.clone().toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  const cmykTiff = await base.clone().toColourspace('cmyk').tiff().toBuffer();
  for (const [name, bytes] of [
    ['cmyk.jpg', cmykJpeg],
    ['cmyk.tif', cmykTiff],
  ] as const)
    out.push({
      name,
      kind: 'CMYK',
      expect: 'image',
      bytes,
      reference: await sharp(bytes).toColourspace('srgb').png().toBuffer(),
    });
  const png16 = await base.clone().toColourspace('rgb16').png().toBuffer();
  const tif16 = await base.clone().toColourspace('rgb16').tiff().toBuffer();
  for (const [name, bytes] of [
    ['16-bit.png', png16],
    ['16-bit.tif', tif16],
  ] as const)
    out.push({ name, kind: '16 bits per channel', expect: 'image', bytes, reference: upright });
  const grey = Buffer.alloc(W * H * 2);
  for (let i = 0; i < W * H; i++) {
    grey[2 * i] = (i * 5) & 255;
    grey[2 * i + 1] = i % W < W / 2 ? 255 : 96; // right half translucent
  }
  const greyAlpha = await raw(grey, W, H, 2).png().toBuffer();
  out.push({
    name: 'grey-alpha.png',
    kind: 'grey with alpha',
    expect: 'image',
    bytes: greyAlpha,
    reference: await sharp(greyAlpha)
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .png()
      .toBuffer(),
  });
  const { gif, first } = await manyFrames(3000);
  out.push({
    name: 'animated-3000-frames.gif',
    kind: 'animated GIF, 3000 frames (the first is embedded)',
    expect: 'image',
    bytes: gif,
    reference: first,
  });
  out.push({
    name: 'strip-1x2000000.png',
    kind: 'a 1 x 2,000,000 strip (2 MP in a few KB)',
    expect: 'image',
    bytes: await sharp({
      create: { width: 1, height: 2_000_000, channels: 3, background: '#884422' },
    })
      .png()
      .toBuffer(),
  });
  out.push({
    name: 'one-pixel.png',
    kind: '1 x 1 pixel',
    expect: 'image',
    bytes: await sharp({ create: { width: 1, height: 1, channels: 3, background: '#123456' } })
      .png()
      .toBuffer(),
  });
  return out;
}

/**
 * Finds JPEG and PNG images embedded in an opaque container by their signatures (Enlightenment
 * .edj theme files store wallpapers as plain JPEG streams inside an Eet archive). Each candidate
 * is walked by its own structure, so its true end is found and a false signature is dropped:
 *   - JPEG: marker segments from SOI up to SOS, then entropy-coded data, where a 0xFF byte is
 *     followed by 0x00 (stuffing) or RST0-7, until the next marker; that repeats (progressive
 *     scans, DHT/DQT between scans) until EOI. Thumbnails inside APP1 are skipped with it.
 *   - PNG: 8-byte signature, then length/type/data/CRC chunks until IEND.
 */
export interface EmbeddedImage {
  readonly type: 'jpeg' | 'png';
  readonly offset: number;
  readonly data: Buffer;
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** End offset (exclusive) of the JPEG starting at `at`, or -1 if it is not a whole JPEG. */
export function jpegEnd(buf: Buffer, at: number): number {
  if (buf[at] !== 0xff || buf[at + 1] !== 0xd8) return -1;
  let i = at + 2;
  let sawFrame = false;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return -1;
    let m = buf[i + 1] as number;
    // Fill bytes: any number of 0xFF may precede a marker.
    while (m === 0xff && i + 2 < buf.length) {
      i++;
      m = buf[i + 1] as number;
    }
    if (m === 0xd9) return sawFrame ? i + 2 : -1;
    if (m >= 0xd0 && m <= 0xd7) {
      i += 2;
      continue;
    }
    if (m === 0x00 || m === 0xd8) return -1;
    const len = buf.readUInt16BE(i + 2);
    if (len < 2) return -1;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) sawFrame = true;
    i += 2 + len;
    if (m !== 0xda) continue;
    // Entropy-coded data after SOS: skip to the next real marker.
    while (i + 1 < buf.length) {
      if (buf[i] === 0xff) {
        const n = buf[i + 1] as number;
        if (n !== 0x00 && !(n >= 0xd0 && n <= 0xd7) && n !== 0xff) break;
      }
      i++;
    }
  }
  return -1;
}

/** End offset (exclusive) of the PNG starting at `at`, or -1 if it is not a whole PNG. */
export function pngEnd(buf: Buffer, at: number): number {
  if (at + 8 > buf.length || !buf.subarray(at, at + 8).equals(PNG_SIG)) return -1;
  let i = at + 8;
  while (i + 12 <= buf.length) {
    const len = buf.readUInt32BE(i);
    const type = buf.toString('latin1', i + 4, i + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) return -1;
    i += 12 + len;
    if (type === 'IEND') return i <= buf.length ? i : -1;
  }
  return -1;
}

/** Every whole JPEG and PNG in `buf`, in file order, not counting images nested inside others. */
export function findEmbeddedImages(buf: Buffer): EmbeddedImage[] {
  const out: EmbeddedImage[] = [];
  let i = 0;
  while (i < buf.length - 8) {
    const b = buf[i];
    let end = -1;
    let type: EmbeddedImage['type'] = 'jpeg';
    if (b === 0xff && buf[i + 1] === 0xd8 && buf[i + 2] === 0xff) end = jpegEnd(buf, i);
    else if (b === 0x89 && buf[i + 1] === 0x50) {
      end = pngEnd(buf, i);
      type = 'png';
    }
    if (end > 0) {
      out.push({ type, offset: i, data: Buffer.from(buf.subarray(i, end)) });
      i = end;
    } else i++;
  }
  return out;
}

/** Width and height from a JPEG's frame header, or null. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < jpeg.length && jpeg[i] === 0xff) {
    const m = jpeg[i + 1] as number;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
      return { height: jpeg.readUInt16BE(i + 5), width: jpeg.readUInt16BE(i + 7) };
    i += 2 + jpeg.readUInt16BE(i + 2);
  }
  return null;
}

/** Longest side kept for a wallpaper (the themes also carry 8K copies). */
export const WALLPAPER_MAX_SIDE = 3840;

/**
 * An Enlightenment wallpaper theme embeds one picture at many screen sizes. Keeps, per file
 * and per aspect ratio, the largest copy no wider than WALLPAPER_MAX_SIDE.
 */
export function pickWallpapers(images: readonly EmbeddedImage[]): EmbeddedImage[] {
  const best = new Map<string, { img: EmbeddedImage; area: number }>();
  for (const img of images) {
    const size = img.type === 'jpeg' ? jpegSize(img.data) : null;
    if (!size || Math.max(size.width, size.height) > WALLPAPER_MAX_SIDE) continue;
    const aspect = (size.width / size.height).toFixed(2);
    const area = size.width * size.height;
    const prev = best.get(aspect);
    if (!prev || area > prev.area) best.set(aspect, { img, area });
  }
  return [...best.values()].map((b) => b.img).sort((a, b) => a.offset - b.offset);
}

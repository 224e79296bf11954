/**
 * The official evaluation's crop and resize, in plain arithmetic: FFCV's centre crop (a square
 * of side floor(ratio * min(h, w)) at offset ((w - side) // 2, (h - side) // 2)) and OpenCV's
 * INTER_AREA downscale, where each output pixel is the mean of the source area it covers, a
 * partly covered source pixel weighted by the covered fraction. Upscaling (a source smaller
 * than the output) uses the same rule, which then repeats pixels like nearest neighbour with
 * blended edges; OpenCV interpolates linearly there instead.
 */

export interface CropBox {
  /** Left and top edge, in (possibly fractional) source pixels. */
  readonly x: number;
  readonly y: number;
  readonly side: number;
}

/** FFCV CenterCropRGBImageDecoder's crop of a w x h image (integers, as its code computes). */
export function officialCrop(w: number, h: number, ratio: number): CropBox {
  const side = Math.max(1, Math.floor(ratio * Math.min(w, h)));
  return { x: Math.floor((w - side) / 2), y: Math.floor((h - side) / 2), side };
}

/** Per output index along one axis: the source indices it covers and their weights (sum 1). */
function footprints(start: number, side: number, out: number, limit: number) {
  const scale = side / out;
  return Array.from({ length: out }, (_, i) => {
    const a = start + i * scale;
    const b = start + (i + 1) * scale;
    const idx: number[] = [];
    const w: number[] = [];
    for (let p = Math.floor(a); p < Math.ceil(b - 1e-9); p++) {
      const cover = Math.min(b, p + 1) - Math.max(a, p);
      if (cover <= 1e-12) continue;
      idx.push(Math.min(Math.max(p, 0), limit - 1));
      w.push(cover / scale);
    }
    return { idx, w };
  });
}

/** The square `box` of an 8-bit [H, W, C] image, area-resampled to [S, S, C] (rounded). */
export function areaResize(
  img: { data: Uint8Array; width: number; height: number; channels: number },
  box: CropBox,
  S: number,
): Uint8Array {
  const C = img.channels;
  const fx = footprints(box.x, box.side, S, img.width);
  const fy = footprints(box.y, box.side, S, img.height);
  const out = new Uint8Array(S * S * C);
  const acc = new Float64Array(C);
  for (let i = 0; i < S; i++) {
    const ry = fy[i]!;
    for (let j = 0; j < S; j++) {
      const rx = fx[j]!;
      acc.fill(0);
      for (let a = 0; a < ry.idx.length; a++) {
        const row = ry.idx[a]! * img.width;
        for (let b = 0; b < rx.idx.length; b++) {
          const wgt = ry.w[a]! * rx.w[b]!;
          const p = (row + rx.idx[b]!) * C;
          for (let c = 0; c < C; c++) acc[c]! += wgt * img.data[p + c]!;
        }
      }
      for (let c = 0; c < C; c++) out[(i * S + j) * C + c] = Math.round(acc[c]!);
    }
  }
  return out;
}

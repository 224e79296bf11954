/** An in-memory labelled image set: 8-bit pixels, NHWC, one label per image. */
export interface ImageSet {
  readonly name: string;
  /** Image side in pixels (square). */
  readonly size: number;
  /** 1 (grey) or 3 (RGB). */
  readonly channels: number;
  /** [n, size, size, channels], row-major. */
  readonly pixels: Uint8Array;
  /** [n] class index into `classes` (for emoji: the emoji identity). */
  readonly labels: Int32Array;
  readonly classes: readonly string[];
  /** Optional [n] group index into `groupNames` (for emoji: the vendor). */
  readonly groups?: Int32Array;
  readonly groupNames?: readonly string[];
}

export function imageCount(s: ImageSet): number {
  return s.labels.length;
}

/** One image's pixels (a view, no copy). */
export function imageAt(s: ImageSet, i: number): Uint8Array {
  const per = s.size * s.size * s.channels;
  return s.pixels.subarray(i * per, (i + 1) * per);
}

/** The subset at `indices` (copied). */
export function subset(s: ImageSet, indices: readonly number[], name = s.name): ImageSet {
  const per = s.size * s.size * s.channels;
  const pixels = new Uint8Array(indices.length * per);
  indices.forEach((src, dst) =>
    pixels.set(s.pixels.subarray(src * per, (src + 1) * per), dst * per),
  );
  return {
    ...s,
    name,
    pixels,
    labels: Int32Array.from(indices, (i) => s.labels[i]!),
    ...(s.groups ? { groups: Int32Array.from(indices, (i) => s.groups![i]!) } : {}),
  };
}

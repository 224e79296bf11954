/**
 * Image preprocessing shared by training and inference, written once: pixel layout is NHWC
 * float32, RGB, normalised per channel with the ImageNet statistics the official recipe uses.
 */

/** Per-channel mean and std of ImageNet RGB in [0, 1] (the timm / official MatMamba defaults). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * 8-bit interleaved pixels [H, W, C] -> normalised float32 [H, W, C].
 * Grey (C = 1) input is normalised with the mean of the RGB statistics.
 */
export function normalizePixels(
  pixels: Uint8Array | Uint8ClampedArray,
  channels: number,
): Float32Array {
  const out = new Float32Array(pixels.length);
  const mean = channels === 3 ? IMAGENET_MEAN : [0.449];
  const std = channels === 3 ? IMAGENET_STD : [0.226];
  for (let i = 0; i < pixels.length; i++) {
    const c = i % channels;
    out[i] = (pixels[i]! / 255 - mean[c]!) / std[c]!;
  }
  return out;
}

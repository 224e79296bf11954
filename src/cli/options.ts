/** Checks of numeric command-line options shared by the commands (undefined: not given). */
import { ValidationError } from '../errors.js';

/** A whole number from `min` to `max`. */
export function intOption(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ValidationError(
      `--${name} must be a whole number from ${min} to ${max}, got '${String(v)}'`,
    );
  return n;
}

/** A number from `min` to `max` (both included). */
export function numberOption(
  v: unknown,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ValidationError(
      `--${name} must be a number from ${min} to ${max}, got '${String(v)}'`,
    );
  return n;
}

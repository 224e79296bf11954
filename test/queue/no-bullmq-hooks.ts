/** Module hooks for the lazy-loading test: any import of bullmq or ioredis fails loudly. */
export async function resolve(
  specifier: string,
  context: unknown,
  next: (s: string, c: unknown) => Promise<unknown>,
): Promise<unknown> {
  if (/^(bullmq|ioredis)(\/|$)/.test(specifier)) throw new Error(`${specifier} was loaded`);
  return next(specifier, context);
}

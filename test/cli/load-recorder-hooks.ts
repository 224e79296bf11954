/** Module hooks of load-recorder.ts: logs each resolved ESM import to $MATSEARCH_LOAD_LOG. */
import { appendFileSync } from 'node:fs';

export async function resolve(
  specifier: string,
  context: unknown,
  next: (s: string, c: unknown) => Promise<{ url: string }>,
): Promise<{ url: string }> {
  const r = await next(specifier, context);
  appendFileSync(process.env['MATSEARCH_LOAD_LOG']!, `${r.url}\n`);
  return r;
}

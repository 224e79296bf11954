/** Module resolution hook: 'sharp' resolves to the counting wrapper, except from the wrapper. */
interface Context {
  readonly parentURL?: string;
}
type Next = (specifier: string, context: Context) => Promise<{ url: string }>;

const WRAPPER = new URL('./counting-sharp.js', import.meta.url).href;

export async function resolve(specifier: string, context: Context, next: Next) {
  if (specifier === 'sharp' && context.parentURL !== WRAPPER)
    return { url: WRAPPER, shortCircuit: true };
  return next(specifier, context);
}

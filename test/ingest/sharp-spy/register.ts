/**
 * Preloaded with `node --import` into a child process: every `import 'sharp'` from then on gets
 * the counting wrapper (counting-sharp.ts) instead, so a test sees every pipeline the code runs.
 */
import { register } from 'node:module';

register('./hooks.js', import.meta.url);

/** The ES build of sharp, counting (counting.ts): what an `import 'sharp'` gets under the spy. */
import Real from 'sharp';
import { countingSharp } from './counting.js';

export type { DecodeRecord } from './counting.js';
export default countingSharp(Real);

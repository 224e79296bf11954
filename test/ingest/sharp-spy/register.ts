/**
 * Preloaded with `node --import` into a child process: every `import 'sharp'` from then on gets
 * the counting wrapper (counting-sharp.ts) instead, and every `require('sharp')` a counting
 * wrapper of the CommonJS build, so a test sees every pipeline the code runs.
 */
import { createRequire, register } from 'node:module';
import type Real from 'sharp';
import { countingSharp } from './counting.js';

register('./hooks.js', import.meta.url);

const require = createRequire(import.meta.url);
const Module = require('node:module') as {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
};
const counting = countingSharp(require('sharp') as typeof Real);
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === 'sharp' ? counting : load.call(this, request, parent, isMain);
};

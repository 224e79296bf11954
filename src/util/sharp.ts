/**
 * sharp, loaded by `require`: its CommonJS build loads in about half the time of its ES build,
 * whose imports of CommonJS dependencies are each first scanned for export names (measured:
 * ~180 vs ~310 ms on a busy 2-core machine, the largest part of a search's start-up). Every
 * module of the product takes sharp from here, so a process never loads both builds.
 */
import { createRequire } from 'node:module';
import type SharpModule from 'sharp';

const sharp = createRequire(import.meta.url)('sharp') as typeof SharpModule;
export default sharp;

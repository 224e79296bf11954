/** The same thing drawn differently: emoji, icons, flags, cards, chess, glyphs, clip art. */
import { EMOJI_SOURCE } from './emoji-sets.js';
import type { CorpusSource } from './source.js';

export const DRAWN_SOURCES: readonly CorpusSource[] = [EMOJI_SOURCE];

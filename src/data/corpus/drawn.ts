/** The same thing drawn differently: emoji, icons, flags, cards, chess, glyphs, clip art. */
import { CARDS_SOURCE } from './cards.js';
import { CHESS_SOURCE } from './chess.js';
import { ART4APPS_SOURCE, OPENCLIPART_SOURCE } from './clipart.js';
import { EMOJI_SOURCE } from './emoji-sets.js';
import { FLAGS_SOURCE } from './flags.js';
import { GLYPHS_SOURCE } from './glyphs.js';
import { ICONIFY_ICONS_SOURCE, ICONIFY_LOGOS_SOURCE } from './iconify-families.js';
import { ICON_THEMES_SOURCE } from './icon-themes.js';
import type { CorpusSource } from './source.js';

export const DRAWN_SOURCES: readonly CorpusSource[] = [
  EMOJI_SOURCE,
  ICON_THEMES_SOURCE,
  ICONIFY_ICONS_SOURCE,
  ICONIFY_LOGOS_SOURCE,
  FLAGS_SOURCE,
  CARDS_SOURCE,
  CHESS_SOURCE,
  OPENCLIPART_SOURCE,
  ART4APPS_SOURCE,
  GLYPHS_SOURCE,
];

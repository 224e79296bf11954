/**
 * Family and subfamily names from a TrueType/OpenType font's 'name' table (nameIDs 1, 2, 16, 17),
 * so the text renderer can be asked for exactly that face and weights group under one family. Spec:
 * https://learn.microsoft.com/typography/opentype/spec/name
 */

export interface FontName {
  /** Typographic family (nameID 16, else 1): 'Lato' for Lato Black too. */
  readonly family: string;
  /** Typographic subfamily (nameID 17, else 2): 'Black', 'Regular'. */
  readonly subfamily: string;
  /** The legacy family (nameID 1) that font matching knows the face by: 'Lato Black'. */
  readonly legacyFamily: string;
}

/** Decodes UTF-16BE (Windows and Unicode platforms) or Latin-1 (Macintosh Roman, near enough). */
function decode(buf: Buffer, utf16: boolean): string {
  if (!utf16) return buf.toString('latin1');
  let s = '';
  for (let i = 0; i + 1 < buf.length; i += 2) s += String.fromCharCode(buf.readUInt16BE(i));
  return s;
}

/** null when the buffer holds no readable name table (not a TTF/OTF, or a collection). */
export function fontName(font: Buffer): FontName | null {
  if (font.length < 12) return null;
  const tag = font.readUInt32BE(0);
  // 0x00010000 TrueType, 'OTTO' CFF, 'true' old Apple TrueType.
  if (tag !== 0x00010000 && tag !== 0x4f54544f && tag !== 0x74727565) return null;
  const numTables = font.readUInt16BE(4);
  let nameAt = -1;
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + i * 16;
    if (rec + 16 > font.length) return null;
    if (font.toString('latin1', rec, rec + 4) === 'name') nameAt = font.readUInt32BE(rec + 8);
  }
  if (nameAt < 0 || nameAt + 6 > font.length) return null;
  const count = font.readUInt16BE(nameAt + 2);
  const strings = nameAt + font.readUInt16BE(nameAt + 4);
  // Best record per nameID: Windows English first, then any Unicode/Windows, then Macintosh.
  const best = new Map<number, { rank: number; text: string }>();
  for (let i = 0; i < count; i++) {
    const r = nameAt + 6 + i * 12;
    if (r + 12 > font.length) break;
    const platform = font.readUInt16BE(r);
    const language = font.readUInt16BE(r + 4);
    const id = font.readUInt16BE(r + 6);
    if (id !== 1 && id !== 2 && id !== 16 && id !== 17) continue;
    const len = font.readUInt16BE(r + 8);
    const off = strings + font.readUInt16BE(r + 10);
    if (off + len > font.length) continue;
    const rank = platform === 3 ? (language === 0x409 ? 0 : 1) : platform === 0 ? 1 : 2;
    const had = best.get(id);
    if (had && had.rank <= rank) continue;
    best.set(id, { rank, text: decode(font.subarray(off, off + len), platform !== 1) });
  }
  const text = (id: number) => best.get(id)?.text.trim() || undefined;
  const legacyFamily = text(1);
  if (!legacyFamily) return null;
  return {
    family: text(16) ?? legacyFamily,
    subfamily: text(17) ?? text(2) ?? 'Regular',
    legacyFamily,
  };
}

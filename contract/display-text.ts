/**
 * Text that people type and others see (room titles, user names). Cut by grapheme, so a cut never splits
 * an emoji or a letter from its accents (UTF-16 slicing can leave half a surrogate pair). Bidi controls
 * are removed, since they can make a name read as something else ("Trojan Source") or reorder the text
 * around it; zero-width characters too, since they make two names that look the same differ. A zero-width
 * joiner between two pictographs is kept: it is how emoji such as 👩‍💻 are written.
 */

export const MAX_TITLE_GRAPHEMES = 80;
export const MAX_NAME_GRAPHEMES = 40;

/** U+202A-202E embeddings/overrides, U+2066-2069 isolates, U+200E/F marks, U+061C Arabic letter mark. */
const BIDI = '\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C';
/** U+200B zero-width space, U+200C ZWNJ, U+2060 word joiner, U+FEFF BOM (U+200D is handled apart). */
const ZERO_WIDTH = '\u200B\u200C\u2060\uFEFF';
/** Other control characters (C0 but whitespace, DEL, C1); whitespace runs become one space. */
const CONTROL = '\u0000-\u0008\u000E-\u001F\u007F-\u009F';
const REMOVED = new RegExp(`[${BIDI}${ZERO_WIDTH}${CONTROL}]|(?<!\\p{Extended_Pictographic}\\uFE0F?)\\u200D|\\u200D(?!\\p{Extended_Pictographic})`, 'gu');

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** `text` without bidi, zero-width and control characters, whitespace collapsed and trimmed, at most `maxGraphemes` graphemes. */
export function cleanDisplayText(text: string, maxGraphemes: number): string {
  const cleaned = text.replace(REMOVED, '').replace(/\s+/gu, ' ').trim();
  let out = '';
  let count = 0;
  for (const { segment } of segmenter.segment(cleaned)) {
    if (count++ === maxGraphemes) break;
    out += segment;
  }
  return out.trimEnd();
}

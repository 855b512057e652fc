import { describe, expect, it } from 'vitest';
import { cleanDisplayText } from './display-text.js';

describe('cleanDisplayText', () => {
  it('cuts by grapheme, never inside an emoji or a letter with its accents', () => {
    expect(cleanDisplayText('👩‍💻👩‍💻👩‍💻', 2)).toBe('👩‍💻👩‍💻');
    expect(cleanDisplayText('e\u0301e\u0301e\u0301', 2)).toBe('e\u0301e\u0301');
    expect(cleanDisplayText('🇫🇷🇩🇪', 1)).toBe('🇫🇷');
    expect(cleanDisplayText('ab', 5)).toBe('ab');
  });

  it('removes bidi controls, zero-width and control characters', () => {
    expect(cleanDisplayText('ad\u202Enimgp.exe', 40)).toBe('adnimgp.exe');
    for (const c of ['\u202A', '\u202B', '\u202C', '\u202D', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C', '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u0000', '\u001B', '\u0085']) {
      expect(cleanDisplayText(`An${c}na`, 40), c.codePointAt(0)!.toString(16)).toBe('Anna');
    }
  });

  it('keeps a zero-width joiner only between pictographs', () => {
    expect(cleanDisplayText('👩\u200D💻', 5)).toBe('👩\u200D💻');
    expect(cleanDisplayText('❤\uFE0F\u200D🔥', 5)).toBe('❤\uFE0F\u200D🔥');
    expect(cleanDisplayText('a\u200D💻', 5)).toBe('a💻');
    expect(cleanDisplayText('👩\u200Db', 5)).toBe('👩b');
  });

  it('collapses whitespace and trims, also after the cut', () => {
    expect(cleanDisplayText('  a \n\t b  ', 40)).toBe('a b');
    expect(cleanDisplayText('ab cd', 3)).toBe('ab');
    expect(cleanDisplayText('\u202E \u200B', 40)).toBe('');
  });
});

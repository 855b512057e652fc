/**
 * CLIP's byte-level BPE tokenizer (OpenAI's simple_tokenizer, as transformers' CLIPTokenizer): unescape HTML,
 * collapse whitespace, lower-case, split with CLIP's regex, map each UTF-8 byte to a printable character,
 * merge pairs by rank with '</w>' marking a word's end, then <|startoftext|> ids <|endoftext|>, cut and
 * padded to the model's length with <|endoftext|> (SD 1.x's pad token). vocab.json and merges.txt are user
 * input: their sizes and contents are checked.
 */
import { ModelLoadError } from '../errors.js';
import { DiffusionInputError } from './errors.js';

export const BOS = '<|startoftext|>';
export const EOS = '<|endoftext|>';
/** Longest prompt accepted, in characters: far beyond 77 tokens, and it bounds the work per request. */
export const MAX_PROMPT_CHARS = 10_000;

const SPLIT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** GPT-2's table of the 256 byte values to printable characters. */
function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  return table;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Python's html.unescape for numeric entities and the common named ones. */
function unescapeHtml(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

export function cleanPrompt(text: string): string {
  return unescapeHtml(unescapeHtml(text)).trim().replace(/\s+/gu, ' ').trim().toLowerCase();
}

export class ClipTokenizer {
  private readonly byteChars = byteToUnicode();
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  readonly bos: number;
  readonly eos: number;

  constructor(
    private readonly vocab: Map<string, number>,
    merges: Array<[string, string]>,
    /** Token sequence length, bos and eos included (77 for SD). */
    readonly length = 77,
  ) {
    merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
    const bos = vocab.get(BOS);
    const eos = vocab.get(EOS);
    if (bos === undefined || eos === undefined) throw new ModelLoadError(`tokenizer vocab.json lacks ${BOS} or ${EOS}`);
    this.bos = bos;
    this.eos = eos;
  }

  /** Reads vocab.json and merges.txt text (the files of a diffusers tokenizer/ folder). */
  static fromFiles(vocabJson: string, mergesTxt: string, length = 77): ClipTokenizer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJson);
    } catch (err) {
      throw new ModelLoadError(`tokenizer/vocab.json is not valid JSON: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ModelLoadError('tokenizer/vocab.json is not a JSON object of token -> id');
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(parsed as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new ModelLoadError(`tokenizer/vocab.json: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a non-negative integer`);
      vocab.set(token, id as number);
    }
    const merges: Array<[string, string]> = [];
    mergesTxt.split('\n').forEach((line, i) => {
      if (line.startsWith('#version') || line.trim() === '') return;
      const parts = line.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) throw new ModelLoadError(`tokenizer/merges.txt line ${i + 1} is not two symbols separated by a space`);
      merges.push([parts[0], parts[1]]);
    });
    return new ClipTokenizer(vocab, merges, length);
  }

  /** BPE of one word (already mapped to byte characters) into vocabulary symbols. */
  private bpe(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = [...word];
    let parts = [...chars.slice(0, -1), chars[chars.length - 1] + '</w>'];
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = [parts[best], parts[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === a && parts[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(parts[i]);
      }
      parts = merged;
    }
    if (this.cache.size < 10_000) this.cache.set(word, parts);
    return parts;
  }

  /** The prompt's token ids, without bos/eos or padding. */
  tokenize(prompt: string): number[] {
    if (typeof prompt !== 'string') throw new DiffusionInputError('the prompt must be a string');
    if (prompt.length > MAX_PROMPT_CHARS) throw new DiffusionInputError(`the prompt is ${prompt.length} characters; at most ${MAX_PROMPT_CHARS}`);
    const ids: number[] = [];
    for (const piece of cleanPrompt(prompt).match(SPLIT) ?? []) {
      // CLIP maps its special tokens, even inside a prompt, straight to their ids.
      if (piece === BOS || piece === EOS) {
        ids.push(piece === BOS ? this.bos : this.eos);
        continue;
      }
      const bytes = new TextEncoder().encode(piece);
      const word = Array.from(bytes, (b) => this.byteChars[b]).join('');
      for (const symbol of this.bpe(word)) {
        const id = this.vocab.get(symbol);
        if (id === undefined) throw new ModelLoadError(`tokenizer: symbol ${JSON.stringify(symbol)} is produced by merges.txt but missing from vocab.json`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** bos, the prompt's ids (cut to fit), eos, then eos padding: exactly `length` ids. */
  encode(prompt: string): number[] {
    const ids = [this.bos, ...this.tokenize(prompt).slice(0, this.length - 2), this.eos];
    while (ids.length < this.length) ids.push(this.eos);
    return ids;
  }
}

/**
 * Sequence-to-sequence data: pairs read from TSV text (source TAB target), a vocabulary for
 * each side with the special tokens a decoder needs, and batches grouped by length so that
 * padding stays small.
 */
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { WordVocabulary } from './vocab.js';
import { shuffled } from './labelled.js';

/** One pair of texts. */
export interface TextPair {
  source: string;
  target: string;
}

/**
 * The pairs of a TSV text: each non-empty line is `source<TAB>target` (columns after a second
 * tab are ignored, as in files that carry attributions). A line without a tab or with an empty
 * side is an error that names it. Windows line ends and a byte-order mark are accepted.
 */
export function readPairs(text: string, who = 'readPairs'): TextPair[] {
  if (typeof text !== 'string') throw new Error(`${who}: expected the text of a TSV file, got ${typeof text}`);
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const out: TextPair[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const cols = line.split('\t');
    if (cols.length < 2) throw new Error(`${who}: line ${i + 1} has no tab between source and target: ${JSON.stringify(line.slice(0, 60))}`);
    const [source, target] = [cols[0]!.trim(), cols[1]!.trim()];
    if (!source) throw new Error(`${who}: line ${i + 1} has an empty source (before the tab)`);
    if (!target) throw new Error(`${who}: line ${i + 1} has an empty target (after the tab)`);
    out.push({ source, target });
  });
  if (out.length === 0) throw new Error(`${who}: no pairs (every line is empty)`);
  return out;
}

/** How a side's texts become symbols: characters, words (and punctuation), or symbols separated by spaces (as phonemes are). */
export type Tokenization = 'char' | 'word' | 'space';

/** A saved SymbolVocabulary. */
export interface SymbolVocabularyJSON {
  kind: 'symbols';
  tokenization: Tokenization;
  tokens: string[];
}

/**
 * The symbols of one side of a sequence-to-sequence task: ids 0-3 are `<pad>`, `<s>` (start),
 * `</s>` (end) and `<unk>`, then the symbols of the training texts by decreasing count (ties in
 * code-point order).
 */
export class SymbolVocabulary {
  static readonly SPECIALS = ['<pad>', '<s>', '</s>', '<unk>'] as const;
  readonly pad = 0;
  readonly bos = 1;
  readonly eos = 2;
  readonly unknownId = 3;
  readonly tokens: readonly string[];
  readonly tokenization: Tokenization;
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], tokenization: Tokenization) {
    const who = 'SymbolVocabulary';
    if (!['char', 'word', 'space'].includes(tokenization)) throw new Error(`${who}: tokenization must be 'char', 'word' or 'space', got ${JSON.stringify(tokenization)}`);
    if (!Array.isArray(tokens) || SymbolVocabulary.SPECIALS.some((s, i) => tokens[i] !== s)) throw new Error(`${who}: tokens must start with ${SymbolVocabulary.SPECIALS.join(', ')}`);
    this.tokens = [...tokens];
    this.index = new Map(this.tokens.map((t, i) => [t, i]));
    if (this.index.size !== this.tokens.length) throw new Error(`${who}: tokens repeat`);
    this.tokenization = tokenization;
  }

  /** The symbols of a text under a tokenization. */
  static split(text: string, tokenization: Tokenization): string[] {
    if (tokenization === 'char') return Array.from(text);
    if (tokenization === 'word') return WordVocabulary.split(text, false);
    return text.split(/\s+/).filter((s) => s.length > 0);
  }

  /** Every symbol of the texts. */
  static fromTexts(texts: readonly string[], tokenization: Tokenization): SymbolVocabulary {
    const counts = new Map<string, number>();
    for (const t of texts) for (const s of SymbolVocabulary.split(t, tokenization)) counts.set(s, (counts.get(s) ?? 0) + 1);
    for (const s of SymbolVocabulary.SPECIALS) counts.delete(s);
    if (counts.size === 0) throw new Error('SymbolVocabulary.fromTexts: the texts hold no symbols');
    const symbols = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([s]) => s);
    return new SymbolVocabulary([...SymbolVocabulary.SPECIALS, ...symbols], tokenization);
  }

  get size(): number {
    return this.tokens.length;
  }

  /**
   * The ids of a text's symbols (no start or end token). Symbols outside the vocabulary are an
   * error naming them, or `<unk>` with `{ unknown: 'map' }`.
   */
  encode(text: string, options: { unknown?: 'error' | 'map'; who?: string } = {}): Int32Array {
    const symbols = SymbolVocabulary.split(text, this.tokenization);
    const ids = new Int32Array(symbols.length);
    const missing: string[] = [];
    symbols.forEach((s, i) => {
      const id = this.index.get(s);
      if (id === undefined || id < SymbolVocabulary.SPECIALS.length) {
        if (options.unknown === 'map') ids[i] = this.unknownId;
        else missing.push(s);
      } else ids[i] = id;
    });
    if (missing.length) {
      const what = this.tokenization === 'char' ? 'characters' : this.tokenization === 'word' ? 'words' : 'symbols';
      throw new Error(`${options.who ?? 'SymbolVocabulary.encode'}: ${what} outside the vocabulary: ${[...new Set(missing)].slice(0, 8).map((s) => JSON.stringify(s)).join(', ')}`);
    }
    return ids;
  }

  /** The text of ids (special tokens left out), joined as the tokenization splits. */
  decode(ids: ArrayLike<number>): string {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]!];
      if (t === undefined) throw new Error(`SymbolVocabulary.decode: id ${ids[i]} is out of range [0, ${this.size})`);
      if (ids[i]! >= SymbolVocabulary.SPECIALS.length) out.push(t);
    }
    return out.join(this.tokenization === 'char' ? '' : ' ');
  }

  toJSON(): SymbolVocabularyJSON {
    return { kind: 'symbols', tokenization: this.tokenization, tokens: [...this.tokens] };
  }

  static fromJSON(j: unknown): SymbolVocabulary {
    const v = j as SymbolVocabularyJSON;
    if (!v || v.kind !== 'symbols' || !Array.isArray(v.tokens)) throw new Error('SymbolVocabulary.fromJSON: not a saved symbol vocabulary');
    return new SymbolVocabulary(v.tokens, v.tokenization);
  }
}

/** A pair as ids: the source's symbols, the target's symbols (no start or end tokens). */
export interface IdPair {
  source: Int32Array;
  target: Int32Array;
}

/** One batch of pairs, time-major and padded, as `Seq2Seq.forward` and its loss take it. */
export interface PairBatch {
  /** (S, N) source ids, padded with the source's pad id */
  source: Tensor;
  sourceLengths: number[];
  /** (T, N): the start token, then each target; padded */
  targetIn: Tensor;
  /** (T, N): each target, then the end token; padded (the loss ignores the pad id) */
  targetOut: Tensor;
  /** the indices of these pairs in the list given */
  indices: number[];
}

/** Pads pairs (at `indices`) into one batch; `pad`, `bos` and `eos` are the target vocabulary's (the source pads with its own `sourcePad`). */
export function pairBatch(pairs: readonly IdPair[], indices: readonly number[], ids: { sourcePad: number; pad: number; bos: number; eos: number }): PairBatch {
  const N = indices.length;
  if (N === 0) throw new Error('pairBatch: no pairs');
  const S = Math.max(...indices.map((i) => pairs[i]!.source.length));
  const T = Math.max(...indices.map((i) => pairs[i]!.target.length)) + 1;
  if (S === 0) throw new Error('pairBatch: every source is empty');
  const src = new Int32Array(S * N).fill(ids.sourcePad);
  const tin = new Int32Array(T * N).fill(ids.pad);
  const tout = new Int32Array(T * N).fill(ids.pad);
  indices.forEach((i, n) => {
    const p = pairs[i]!;
    if (p.source.length === 0) throw new Error(`pairBatch: pair ${i} has an empty source`);
    p.source.forEach((v, s) => { src[s * N + n] = v; });
    tin[n] = ids.bos;
    p.target.forEach((v, t) => {
      tin[(t + 1) * N + n] = v;
      tout[t * N + n] = v;
    });
    tout[p.target.length * N + n] = ids.eos;
  });
  return {
    source: new Tensor(src, [S, N]), sourceLengths: indices.map((i) => pairs[i]!.source.length),
    targetIn: new Tensor(tin, [T, N]), targetOut: new Tensor(tout, [T, N]), indices: [...indices],
  };
}

/**
 * Every pair once, in batches of up to `batchSize` pairs of similar source lengths (sorted by
 * length with ties in a random order, cut into batches, the batches in a random order), so that
 * padding stays small.
 */
export function pairBatches(pairs: readonly IdPair[], batchSize: number, rng: Generator, ids: { sourcePad: number; pad: number; bos: number; eos: number }): PairBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`pairBatches: batchSize must be a positive integer, got ${batchSize}`);
  const order = shuffled(pairs.map((_, i) => i), rng).sort((a, b) => pairs[a]!.source.length - pairs[b]!.source.length || pairs[a]!.target.length - pairs[b]!.target.length);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return shuffled(batches, rng).map((b) => pairBatch(pairs, b, ids));
}

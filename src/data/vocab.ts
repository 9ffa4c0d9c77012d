/**
 * A character vocabulary: sorted distinct characters (by code point) plus an optional unknown
 * token for characters unseen in training. Saved with the model (toJSON / fromJSON).
 */
export interface VocabularyJSON {
  kind: 'char' | 'word';
  tokens: string[];
  unknown: string | null;
  /** Word vocabularies: whether texts are lower-cased before splitting. */
  lowercase?: boolean;
}

/** What text classifiers and language models need of a vocabulary. */
export interface Vocabulary {
  readonly size: number;
  /** The id unseen tokens map to (null: unseen tokens are an error). */
  readonly unknownId: number | null;
  readonly tokens: readonly string[];
  encode(text: string, who?: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  toJSON(): VocabularyJSON;
}

export class CharVocabulary implements Vocabulary {
  readonly tokens: readonly string[];
  /** The token standing for unseen characters (null: unseen characters are an error). */
  readonly unknown: string | null;
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], unknown: string | null = null) {
    if (!Array.isArray(tokens) || tokens.length === 0) throw new Error('CharVocabulary: tokens must be a non-empty array of characters');
    this.tokens = [...tokens];
    this.index = new Map(this.tokens.map((t, i) => [t, i]));
    if (this.index.size !== this.tokens.length) throw new Error('CharVocabulary: tokens repeat');
    if (unknown !== null && !this.index.has(unknown)) throw new Error(`CharVocabulary: the unknown token '${unknown}' is not among the tokens`);
    this.unknown = unknown;
  }

  /** The characters of `text`, sorted by code point. */
  static fromText(text: string, options: { unknown?: string } = {}): CharVocabulary {
    if (typeof text !== 'string' || text.length === 0) throw new Error('CharVocabulary.fromText: the text is empty');
    const set = new Set(Array.from(text));
    if (options.unknown !== undefined) set.add(options.unknown);
    return new CharVocabulary([...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), options.unknown ?? null);
  }

  get size(): number {
    return this.tokens.length;
  }

  get unknownId(): number | null {
    return this.unknown === null ? null : this.index.get(this.unknown)!;
  }

  /** Token ids of `text`; unseen characters map to the unknown token, or throw naming them. */
  encode(text: string, who = 'CharVocabulary.encode'): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    const unk = this.unknownId ?? -1;
    for (let i = 0; i < chars.length; i++) {
      const id = this.index.get(chars[i]!);
      if (id === undefined) {
        if (unk < 0) {
          const bad = [...new Set(chars.filter((c) => !this.index.has(c)))].slice(0, 5).map((c) => JSON.stringify(c)).join(', ');
          throw new Error(`${who}: characters outside the vocabulary: ${bad} (first at position ${i})`);
        }
        out[i] = unk;
      } else out[i] = id;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]!];
      if (t === undefined) throw new Error(`CharVocabulary.decode: id ${ids[i]} is out of range [0, ${this.size})`);
      s += t;
    }
    return s;
  }

  toJSON(): VocabularyJSON {
    return { kind: 'char', tokens: [...this.tokens], unknown: this.unknown };
  }

  static fromJSON(j: unknown): CharVocabulary {
    const v = j as VocabularyJSON;
    if (!v || v.kind !== 'char' || !Array.isArray(v.tokens)) throw new Error('CharVocabulary.fromJSON: not a saved character vocabulary');
    return new CharVocabulary(v.tokens, v.unknown ?? null);
  }
}

/**
 * A word vocabulary: index 0 is the padding token '<pad>', 1 the unknown token '<unk>', then the
 * words of the training texts by decreasing count (ties alphabetical), keeping those seen at least
 * `minCount` times, at most `maxSize` tokens in all. Words are runs of letters, digits and
 * apostrophes; every other visible character is a token of its own.
 */
export class WordVocabulary implements Vocabulary {
  static readonly PAD = '<pad>';
  static readonly UNK = '<unk>';
  readonly tokens: readonly string[];
  readonly unknown: string = WordVocabulary.UNK;
  readonly lowercase: boolean;
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], options: { lowercase?: boolean } = {}) {
    if (!Array.isArray(tokens) || tokens[0] !== WordVocabulary.PAD || tokens[1] !== WordVocabulary.UNK) {
      throw new Error(`WordVocabulary: tokens must start with '${WordVocabulary.PAD}' and '${WordVocabulary.UNK}'`);
    }
    this.tokens = [...tokens];
    this.index = new Map(this.tokens.map((t, i) => [t, i]));
    if (this.index.size !== this.tokens.length) throw new Error('WordVocabulary: tokens repeat');
    this.lowercase = options.lowercase ?? true;
  }

  /** The words and symbols of a text, in order. */
  static split(text: string, lowercase = true): string[] {
    return (lowercase ? text.toLowerCase() : text).match(/[\p{L}\p{N}']+|[^\s\p{L}\p{N}']/gu) ?? [];
  }

  static fromTexts(texts: readonly string[], options: { minCount?: number; maxSize?: number; lowercase?: boolean } = {}): WordVocabulary {
    const who = 'WordVocabulary.fromTexts';
    const minCount = options.minCount ?? 1;
    const maxSize = options.maxSize ?? Infinity;
    if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`${who}: minCount must be a positive integer, got ${minCount}`);
    if (!(maxSize >= 3)) throw new Error(`${who}: maxSize must be at least 3 (padding, unknown and a word), got ${maxSize}`);
    const lowercase = options.lowercase ?? true;
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of WordVocabulary.split(t, lowercase)) counts.set(w, (counts.get(w) ?? 0) + 1);
    counts.delete(WordVocabulary.PAD);
    counts.delete(WordVocabulary.UNK);
    const words = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([w]) => w);
    if (words.length === 0) throw new Error(`${who}: no word occurs ${minCount} times or more`);
    return new WordVocabulary([WordVocabulary.PAD, WordVocabulary.UNK, ...words.slice(0, Math.min(words.length, maxSize - 2))], { lowercase });
  }

  get size(): number {
    return this.tokens.length;
  }

  /** '<unk>' is always id 1. */
  readonly unknownId = 1;

  /** Token ids of the text's words; unseen words map to '<unk>'. */
  encode(text: string): Int32Array {
    return Int32Array.from(WordVocabulary.split(text, this.lowercase), (w) => this.index.get(w) ?? 1);
  }

  decode(ids: ArrayLike<number>): string {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]!];
      if (t === undefined) throw new Error(`WordVocabulary.decode: id ${ids[i]} is out of range [0, ${this.size})`);
      out.push(t);
    }
    return out.join(' ');
  }

  toJSON(): VocabularyJSON {
    return { kind: 'word', tokens: [...this.tokens], unknown: WordVocabulary.UNK, lowercase: this.lowercase };
  }

  static fromJSON(j: unknown): WordVocabulary {
    const v = j as VocabularyJSON;
    if (!v || v.kind !== 'word' || !Array.isArray(v.tokens)) throw new Error('WordVocabulary.fromJSON: not a saved word vocabulary');
    return new WordVocabulary(v.tokens, { lowercase: v.lowercase ?? true });
  }
}

/** A saved character or word vocabulary. */
export function vocabularyFromJSON(j: unknown): CharVocabulary | WordVocabulary {
  const kind = (j as { kind?: unknown } | null)?.kind;
  if (kind === 'char') return CharVocabulary.fromJSON(j);
  if (kind === 'word') return WordVocabulary.fromJSON(j);
  throw new Error(`vocabularyFromJSON: not a saved vocabulary (kind ${JSON.stringify(kind) ?? 'missing'})`);
}

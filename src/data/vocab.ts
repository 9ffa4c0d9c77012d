/**
 * A character vocabulary: sorted distinct characters (by code point) plus an optional unknown
 * token for characters unseen in training. Saved with the model (toJSON / fromJSON).
 */
export interface VocabularyJSON {
  kind: 'char';
  tokens: string[];
  unknown: string | null;
}

export class CharVocabulary {
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

  /** Token ids of `text`; unseen characters map to the unknown token, or throw naming them. */
  encode(text: string, who = 'CharVocabulary.encode'): Int32Array {
    const chars = Array.from(text);
    const out = new Int32Array(chars.length);
    const unk = this.unknown === null ? -1 : this.index.get(this.unknown)!;
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

/**
 * Labelled sequences for classification: CSV and JSON-lines readers that pick a text column and a
 * label column, the set of classes (saved with the model; one class is refused), seeded
 * shuffling and train / validation / test splits.
 */
import type { Generator } from '../tensor/random.js';

/**
 * Rows of a CSV text with a header row, as objects keyed by the header (csv-parse, loaded lazily,
 * so the library's entry point needs no dependency in browsers). `trim` strips spaces around
 * fields and header names.
 */
export async function readCsvRows(text: string, who = 'readCsvRows', options: { trim?: boolean } = {}): Promise<Record<string, string>[]> {
  if (typeof text !== 'string' || text.trim().length === 0) throw new Error(`${who}: the CSV is empty`);
  const { parse } = await import('csv-parse/sync');
  let rows: Record<string, string>[];
  try {
    // bom: a file saved by Excel or Notepad starts with a byte-order mark, not part of the first column's name
    rows = parse(text, { bom: true, columns: true, skip_empty_lines: true, trim: options.trim ?? false }) as Record<string, string>[];
  } catch (e) {
    throw new Error(`${who}: the CSV cannot be parsed (${(e as Error).message})`);
  }
  if (rows.length === 0) throw new Error(`${who}: the CSV has a header but no rows`);
  return rows;
}

/** One JSON object per non-blank line; a line that is not a JSON object is refused with its number. */
export function readJsonLines(text: string, who = 'readJsonLines'): Record<string, unknown>[] {
  if (typeof text !== 'string' || text.trim().length === 0) throw new Error(`${who}: the file is empty`);
  const rows: Record<string, unknown>[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${who}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${who}: line ${i + 1} is not a JSON object`);
    rows.push(v as Record<string, unknown>);
  });
  return rows;
}

/** Texts and their labels (as strings). */
export interface LabelledTexts {
  texts: string[];
  labels: string[];
}

export interface ReadLabelledOptions {
  /** 'csv' (a header row) or 'jsonl' (one JSON object per line). */
  format: 'csv' | 'jsonl';
  textColumn: string;
  labelColumn: string;
}

/**
 * The text and label columns of a CSV or JSON-lines file's contents. Missing columns, rows
 * without a label, and texts that are not strings are refused, naming the row.
 */
export async function readLabelled(text: string, o: ReadLabelledOptions, who = 'readLabelled'): Promise<LabelledTexts> {
  if (o.format !== 'csv' && o.format !== 'jsonl') throw new Error(`${who}: format must be 'csv' or 'jsonl', got '${String(o.format)}'`);
  const rows: Record<string, unknown>[] = o.format === 'csv' ? await readCsvRows(text, who) : readJsonLines(text, who);
  if (rows.length === 0) throw new Error(`${who}: no rows`);
  const where = (i: number): string => (o.format === 'csv' ? `row ${i + 2}` : `record ${i + 1}`);
  for (const col of [o.textColumn, o.labelColumn]) {
    if (!(col in rows[0]!)) throw new Error(`${who}: no column '${col}' (columns: ${Object.keys(rows[0]!).join(', ')})`);
  }
  const texts: string[] = [];
  const labels: string[] = [];
  rows.forEach((r, i) => {
    const t = r[o.textColumn];
    const l = r[o.labelColumn];
    if (typeof t !== 'string') throw new Error(`${who}: ${where(i)} has no text in '${o.textColumn}' (got ${JSON.stringify(t) ?? 'nothing'})`);
    if (l === undefined || l === null || (typeof l !== 'string' && typeof l !== 'number' && typeof l !== 'boolean') || String(l).trim() === '') {
      throw new Error(`${who}: ${where(i)} has no label in '${o.labelColumn}' (got ${JSON.stringify(l) ?? 'nothing'})`);
    }
    texts.push(t);
    labels.push(String(l).trim());
  });
  return { texts, labels };
}

/** The classes of a classifier: sorted distinct labels; at least two. Saved with the model. */
export class LabelSet {
  readonly classes: readonly string[];
  private readonly index: Map<string, number>;

  constructor(classes: readonly string[], who = 'LabelSet') {
    if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) throw new Error(`${who}: classes must be an array of strings`);
    if (new Set(classes).size !== classes.length) throw new Error(`${who}: classes repeat`);
    if (classes.length < 2) {
      throw new Error(`${who}: the labels have ${classes.length === 0 ? 'no class' : `one class ('${classes[0]}')`}; a classifier needs at least two`);
    }
    this.classes = [...classes];
    this.index = new Map(this.classes.map((c, i) => [c, i]));
  }

  /** The distinct labels, sorted (numerically when all are numbers). */
  static fromLabels(labels: readonly string[], who = 'LabelSet.fromLabels'): LabelSet {
    const set = [...new Set(labels)];
    const numeric = set.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
    set.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new LabelSet(set, who);
  }

  get size(): number {
    return this.classes.length;
  }

  /** Class ids of labels; an unknown label throws naming it. */
  encode(labels: readonly string[], who = 'LabelSet.encode'): Int32Array {
    return Int32Array.from(labels, (l) => {
      const id = this.index.get(l);
      if (id === undefined) throw new Error(`${who}: unknown label '${l}' (classes: ${this.classes.join(', ')})`);
      return id;
    });
  }

  decode(id: number): string {
    const c = this.classes[id];
    if (c === undefined) throw new Error(`LabelSet.decode: id ${id} is out of range [0, ${this.size})`);
    return c;
  }

  toJSON(): { classes: string[] } {
    return { classes: [...this.classes] };
  }

  static fromJSON(j: unknown): LabelSet {
    const v = j as { classes?: unknown };
    if (!v || !Array.isArray(v.classes)) throw new Error('LabelSet.fromJSON: not a saved label set');
    return new LabelSet(v.classes as string[], 'LabelSet.fromJSON');
  }
}

/** A seeded Fisher-Yates shuffle (a new array). */
export function shuffled<T>(items: readonly T[], rng: Generator): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Shuffles with `rng` and splits into train, validation and test parts of the given fractions
 * (the validation and test parts get at least one item each when their fraction is positive).
 */
export function trainValTestSplit<T>(items: readonly T[], o: { valFraction: number; testFraction: number }, rng: Generator): { train: T[]; val: T[]; test: T[] } {
  const who = 'trainValTestSplit';
  for (const k of ['valFraction', 'testFraction'] as const) {
    if (!(o[k] >= 0 && o[k] < 1)) throw new Error(`${who}: ${k} must be in [0, 1), got ${o[k]}`);
  }
  if (o.valFraction + o.testFraction >= 1) throw new Error(`${who}: valFraction + testFraction must be below 1, got ${o.valFraction + o.testFraction}`);
  const s = shuffled(items, rng);
  const n = s.length;
  const nTest = o.testFraction > 0 ? Math.max(1, Math.round(n * o.testFraction)) : 0;
  const nVal = o.valFraction > 0 ? Math.max(1, Math.round(n * o.valFraction)) : 0;
  if (n - nTest - nVal < 1) throw new Error(`${who}: ${n} items leave none for training`);
  return { test: s.slice(0, nTest), val: s.slice(nTest, nTest + nVal), train: s.slice(nTest + nVal) };
}

/// <reference types="node" />
/**
 * `recurrent eval`: a trained model's figures on a data file, by the model's task: a language
 * model's loss in nats per character, a classifier's accuracy and confusion matrix, a
 * forecaster's backtest against the naive and seasonal-naive forecasts.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { loadModelFile } from '../io/files.js';
import { CharVocabulary } from '../data/vocab.js';
import { UsageError, num, positive as pos } from './args.js';
import { readText, textLoss } from './text.js';
import { readLabelledFile, loadClassifier, encodeText, evaluateClassifier } from './classify.js';
import { readSeries, backtest, type SeriesExtras } from './series.js';

export const EVAL_USAGE = `Usage: recurrent eval --model MODEL --data FILE [options] [--json]

Evaluates a model file on a data file, by what the model was trained for:
  text models       the loss in nats per character (and perplexity) over non-overlapping windows
                    of the file, each from a zero state         [--seq-len T, default the training one]
  classifiers       accuracy and the confusion matrix over the file's labelled rows
                                       [--format csv|jsonl, --text-column A, --label-column B]
  series models     a backtest over the CSV: forecasts --horizon steps ahead from every origin
                    after --start (default: the window), against naive and seasonal naive
                                       [--horizon H, default 12; --season S; --start N]
`;

export async function evaluate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, data: { type: 'string' }, 'seq-len': { type: 'string' }, format: { type: 'string' }, 'text-column': { type: 'string' },
      'label-column': { type: 'string' }, horizon: { type: 'string' }, season: { type: 'string' }, start: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(EVAL_USAGE);
    return;
  }
  for (const k of ['model', 'data'] as const) if (!values[k]) throw new UsageError(`eval: --${k} is required\n\n${EVAL_USAGE}`);
  if (!existsSync(values.model!)) throw new Error(`the model file ${values.model} does not exist`);
  const { model, extras } = loadModelFile(values.model!);
  let result: Record<string, unknown>;
  if (extras['task'] === 'text') {
    const T = num(values['seq-len'], 'seq-len', typeof extras['seqLen'] === 'number' ? extras['seqLen'] : 64, pos, 'a positive integer');
    const text = readText(values.data!);
    const ids = CharVocabulary.fromJSON(extras['vocab']).encode(text, `eval: ${values.data} has`);
    if (ids.length < T + 1) throw new Error(`${values.data}: ${ids.length} characters, fewer than one window of ${T + 1} (--seq-len)`);
    const loss = textLoss(model, ids, T);
    result = { task: 'text', loss, perplexity: Math.exp(loss), characters: ids.length, seq_len: T };
    process.stderr.write(`${values.data}: ${loss.toFixed(4)} nats/char (perplexity ${Math.exp(loss).toFixed(3)}) over ${ids.length} characters\n`);
  } else if (extras['task'] === 'classify') {
    const { extras: ex, vocab, labels } = loadClassifier(values.model!);
    const data = await readLabelledFile(values.data!, values.format, values['text-column'] ?? ex.textColumn, values['label-column'] ?? ex.labelColumn);
    const y = labels.encode(data.labels, `eval: ${values.data}`);
    const r = evaluateClassifier(model, data.texts.map((t) => encodeText(vocab, t, ex.maxLen)), y, labels.size);
    result = { task: 'classify', accuracy: r.accuracy, confusion: r.confusion, classes: labels.classes, rows: y.length };
    process.stderr.write(`${values.data}: accuracy ${(100 * r.accuracy).toFixed(2)}% on ${y.length} rows; confusion (rows actual, columns predicted; ${labels.classes.join(', ')}): ${JSON.stringify(r.confusion)}\n`);
  } else if (extras['task'] === 'series') {
    const ex = extras as unknown as SeriesExtras;
    const H = num(values.horizon, 'horizon', 12, pos, 'a positive integer');
    const S = num(values.season, 'season', ex.season ?? 12, pos, 'a positive integer');
    const y = await readSeries(values.data!, ex.column);
    const start = num(values.start, 'start', 0, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
    const bt = backtest(model, ex, y, start, H, S);
    if (!bt) throw new Error(`${values.data}: ${y.length} values leave no forecast origin for a window of ${ex.window}, season ${S} and horizon ${H}`);
    result = { task: 'series', ...bt };
    process.stderr.write(`${values.data}: ${H} steps ahead from ${bt.origins} origins: RMSE ${bt.rmse.toFixed(4)}, MAE ${bt.mae.toFixed(4)} (seasonal naive RMSE ${bt.seasonal_naive_rmse.toFixed(4)}, naive ${bt.naive_rmse.toFixed(4)})\n`);
  } else throw new Error(`${values.model} has no task recurrent can evaluate (trained outside the CLI?)`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

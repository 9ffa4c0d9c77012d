/// <reference types="node" />
/**
 * `recurrent eval`: a trained model's figures on a data file, by the model's task: a language
 * model's loss in nats per character, a classifier's accuracy and confusion matrix, a
 * forecaster's backtest against the naive and seasonal-naive forecasts.
 */
import { parseArgs } from 'node:util';
import { loadModelFile, modelClassOfPath } from '../io/files.js';
import { readPairs } from '../data/pairs.js';
import { readFileSync } from 'node:fs';
import { CharVocabulary } from '../data/vocab.js';
import { UsageError, intOpt, intIn } from './args.js';
import { checkInput } from './paths.js';
import { reportResult } from './run.js';
import { readText, textLoss } from './text.js';
import { readLabelledFile, loadClassifier, encodeText, evaluateClassifier } from './classify.js';
import { readSeries, parseWhere } from './series.js';
import { backtest, noBacktestReason, type SeriesExtras } from '../train/forecast.js';
import { loadTranslator, evaluateTranslator } from './seq2seq.js';

export const EVAL_USAGE = `Usage: recurrent eval --model MODEL --data FILE [options] [--json]

Evaluates a model file on a data file, by what the model was trained for:
  text models       the loss in nats per character (and perplexity) over non-overlapping windows
                    of the file, each from a zero state
                              [--seq-len T, 1-100000, default the training one]
  classifiers       accuracy and the confusion matrix over the file's labelled rows
                              [--format csv|jsonl, --text-column A, --label-column B]
  series models     a backtest over the CSV: forecasts --horizon steps ahead from every origin
                    after --start (default: the window), against naive and seasonal naive
                              [--horizon H, 1-10000, default the training one; --season S,
                               1-100000; --start N, 0-1e9; --where COL=VALUE, default the model's]
  seq2seq models    token error rate (edit distance over the targets' length) and sequence
                    error rate over the pairs of a TSV file (source TAB target)
                              [--beam K, 1-100, default 1: greedy]

The result goes to stdout: a line of text, or with --json one JSON line.
`;

export async function evaluate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, options: {
      model: { type: 'string' }, data: { type: 'string' }, 'seq-len': { type: 'string' }, format: { type: 'string' }, 'text-column': { type: 'string' },
      'label-column': { type: 'string' }, horizon: { type: 'string' }, season: { type: 'string' }, start: { type: 'string' }, where: { type: 'string', multiple: true },
      beam: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(EVAL_USAGE);
    return;
  }
  for (const k of ['model', 'data'] as const) if (!values[k]) throw new UsageError(`eval: --${k} is required\n\n${EVAL_USAGE}`);
  checkInput(values.model!, 'model file');
  let result: Record<string, unknown>;
  let human: string;
  if (modelClassOfPath(values.model!) === 'Seq2Seq') {
    const { model, source, target } = loadTranslator(values.model!);
    checkInput(values.data!, 'data file');
    const pairs = readPairs(readFileSync(values.data!, 'utf8'), values.data);
    const beam = intIn(values.beam, 'beam', 1, 1, 100);
    const r = evaluateTranslator(model, source, target, pairs, beam);
    result = { task: 'seq2seq', token_error_rate: r.tokenErrorRate, sequence_error_rate: r.sequenceErrorRate, pairs: pairs.length, beam };
    human = `${values.data}: token error rate ${(100 * r.tokenErrorRate).toFixed(2)}%, sequence error rate ${(100 * r.sequenceErrorRate).toFixed(2)}% on ${pairs.length} pairs${beam > 1 ? ` (beam ${beam})` : ''}`;
    reportResult(values.json, human, result);
    return;
  }
  const { model, extras } = loadModelFile(values.model!);
  if (extras['task'] === 'text') {
    const T = intOpt(values['seq-len'], 'seq-len', typeof extras['seqLen'] === 'number' ? extras['seqLen'] : 64, 'seqLen');
    const text = readText(values.data!);
    const ids = CharVocabulary.fromJSON(extras['vocab']).encode(text, `eval: ${values.data} has`);
    if (ids.length < T + 1) throw new Error(`${values.data}: ${ids.length} characters, fewer than one window of ${T + 1} (--seq-len)`);
    const loss = textLoss(model, ids, T);
    result = { task: 'text', loss, perplexity: Math.exp(loss), characters: ids.length, seq_len: T };
    human = `${values.data}: ${loss.toFixed(4)} nats/char (perplexity ${Math.exp(loss).toFixed(3)}) over ${ids.length} characters`;
  } else if (extras['task'] === 'classify') {
    const { extras: ex, vocab, labels } = loadClassifier(values.model!);
    const data = await readLabelledFile(values.data!, values.format, values['text-column'] ?? ex.textColumn, values['label-column'] ?? ex.labelColumn);
    const y = labels.encode(data.labels, `eval: ${values.data}`);
    const r = evaluateClassifier(model, data.texts.map((t) => encodeText(vocab, t, ex.maxLen)), y, labels.size);
    result = { task: 'classify', accuracy: r.accuracy, confusion: r.confusion, classes: labels.classes, rows: y.length };
    human = `${values.data}: accuracy ${(100 * r.accuracy).toFixed(2)}% on ${y.length} rows; confusion (rows actual, columns predicted; ${labels.classes.join(', ')}): ${JSON.stringify(r.confusion)}`;
  } else if (extras['task'] === 'series') {
    const ex = extras as unknown as SeriesExtras;
    const H = intOpt(values.horizon, 'horizon', ex.horizon ?? 12, 'horizon');
    const S = intOpt(values.season, 'season', ex.season ?? 12, 'season');
    const start = intOpt(values.start, 'start', 0, 'rows');
    const y = await readSeries(values.data!, ex.column, values.where ? parseWhere(values.where) : ex.where ?? {});
    const why = noBacktestReason(y.length, start, ex.window, H, S);
    if (why) throw new Error(`${values.data}: no backtest: ${why.replace('raise --test', 'lower --start')}`);
    const bt = backtest(model, ex, y, start, H, S)!;
    result = { task: 'series', ...bt };
    human = `${values.data}: ${H} steps ahead from ${bt.origins} origins: RMSE ${bt.rmse.toFixed(4)}, MAE ${bt.mae.toFixed(4)} (seasonal naive RMSE ${bt.seasonal_naive_rmse.toFixed(4)}, naive ${bt.naive_rmse.toFixed(4)})`;
  } else throw new Error(`${values.model} has no task recurrent can evaluate (trained outside the CLI?)`);
  reportResult(values.json, human, result);
}

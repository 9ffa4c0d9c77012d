#!/usr/bin/env node
/// <reference types="node" />
/**
 * The `recurrent` command. Each command has --help; progress and errors go to stderr, and with
 * --json a final machine-readable line goes to stdout. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import '../index.js'; // backends and tensor operations
import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { loadModelFile, exportOnnxFile, modelClassOfPath, exportSeq2SeqOnnx, writeFileAtomic } from '../io/index.js';
import { loadTranslator } from './seq2seq.js';
import { VERSION } from '../version.js';
import { trainText, generate } from './text.js';
import { UsageError } from './args.js';
import { checkOutputs, checkInput } from './paths.js';
import { reportResult } from './run.js';
import { trainSeries, forecast } from './series.js';
import { trainClassify, classify } from './classify.js';
import { evaluate } from './eval.js';
import { trainSeq2Seq, translate } from './seq2seq.js';

const USAGE = `recurrent ${VERSION}: recurrent neural networks for JavaScript

Usage: recurrent <command> [options]

Commands:
  train text --data FILE --out MODEL          train a character language model
  generate --model MODEL [--prompt TEXT]      sample text from it
  train series --data CSV --column NAME --out MODEL
                                              train a forecaster of one column (with a backtest)
  forecast --model MODEL --data CSV           forecast the column's next values [--plot FILE.svg]
  train classify --data FILE --text-column A --label-column B --out MODEL
                                              train a text classifier (CSV or JSON lines)
  classify --model MODEL --text "..."         classify texts with it
  train seq2seq --data PAIRS.tsv --out MODEL  train an encoder-decoder with attention on pairs
  translate --model MODEL --text "..."        translate (or transcribe) texts with it [--beam K]
  eval --model MODEL --data FILE              a model's loss, accuracy, error rates or backtest on a file
  export onnx --model MODEL --out FILE.onnx   export a model file to ONNX (opset 14)

Options:
  --help      this help, or a command's with the command
  --version   the version
`;

const EXPORT_USAGE = `Usage: recurrent export onnx --model MODEL --out FILE.onnx [--states] [--json]

Writes the model (a recurrent model file, .safetensors) as ONNX with the RNN, LSTM and GRU
operators; batch and sequence length are dynamic, the final states are the outputs hN (cN), and
the initial states zeros or, with --states, the inputs h0 (c0). LSTM projections cannot be
exported. A sequence-to-sequence model becomes two files beside --out: NAME.encoder.onnx (source
and source_lengths in; keys, projected, mask_bias and the decoder's first state h (c) out) and
NAME.decoder.onnx (one step: prev, h (c) and the encoder's outputs in; logits, h_out (c_out) and
the attention weights out).

Options:
  --model MODEL   the model file to read
  --out FILE      the ONNX file to write (atomically; a link is followed; never --model)
  --states        make the initial states inputs h0 (and c0), for carrying state between calls
  --json          print {"out", "bytes", "inputs"} on stdout when done
`;


async function exportOnnx(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: { model: { type: 'string' }, out: { type: 'string' }, states: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(EXPORT_USAGE);
    return;
  }
  if (positionals[0] !== 'onnx') throw new UsageError(`export: unknown format '${positionals[0] ?? ''}' (supported: onnx)\n\n${EXPORT_USAGE}`);
  if (!values.model) throw new UsageError(`export onnx: --model is required\n\n${EXPORT_USAGE}`);
  if (!values.out) throw new UsageError(`export onnx: --out is required\n\n${EXPORT_USAGE}`);
  checkInput(values.model, 'model file');
  // the output is checked before the model file is read (a seq2seq model's two files are beside it)
  checkOutputs([{ flag: 'out', path: values.out }], [{ flag: 'model', path: values.model }]);
  if (modelClassOfPath(values.model) === 'Seq2Seq') {
    if (!values.out.endsWith('.onnx')) throw new UsageError(`export onnx: --out must end in .onnx for a sequence-to-sequence model (NAME.onnx writes NAME.encoder.onnx and NAME.decoder.onnx), got '${values.out}'`);
    if (values.states) throw new UsageError('export onnx: --states is for SequenceModels; a decoder step always takes its state as inputs');
    const base = values.out.slice(0, -'.onnx'.length);
    const files = { encoder: `${base}.encoder.onnx`, decoder: `${base}.decoder.onnx` };
    checkOutputs([{ flag: 'out (encoder)', path: files.encoder }, { flag: 'out (decoder)', path: files.decoder }], [{ flag: 'model', path: values.model }]);
    const graphs = await exportSeq2SeqOnnx(loadTranslator(values.model).model);
    writeFileAtomic(files.encoder, graphs.encoder);
    writeFileAtomic(files.decoder, graphs.decoder);
    reportResult(values.json, `wrote ${files.encoder} (${graphs.encoder.length} bytes) and ${files.decoder} (${graphs.decoder.length} bytes)`, {
      out: [files.encoder, files.decoder], bytes: [graphs.encoder.length, graphs.decoder.length],
    });
    return;
  }
  const { model } = loadModelFile(values.model);
  await exportOnnxFile(values.out, model, { initialStates: !!values.states });
  const bytes = statSync(values.out).size;
  const inputs = ['input', ...(values.states ? ['h0', ...(model.rnn.rule.cell ? ['c0'] : [])] : [])];
  reportResult(values.json, `wrote ${values.out} (${bytes} bytes)`, { out: values.out, bytes, inputs });
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(USAGE);
      return cmd ? 0 : 2;
    }
    if (cmd === '--version') {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (cmd === 'export') {
      await exportOnnx(rest);
      return 0;
    }
    if (cmd === 'train') {
      if (rest[0] === 'text') trainText(rest.slice(1));
      else if (rest[0] === 'series') await trainSeries(rest.slice(1));
      else if (rest[0] === 'classify') await trainClassify(rest.slice(1));
      else if (rest[0] === 'seq2seq') trainSeq2Seq(rest.slice(1));
      else throw new UsageError(`train: unknown kind '${rest[0] ?? ''}' (supported: text, series, classify, seq2seq)`);
      return 0;
    }
    if (cmd === 'generate') {
      generate(rest);
      return 0;
    }
    if (cmd === 'classify') {
      classify(rest);
      return 0;
    }
    if (cmd === 'translate') {
      translate(rest);
      return 0;
    }
    if (cmd === 'eval') {
      await evaluate(rest);
      return 0;
    }
    if (cmd === 'forecast') {
      await forecast(rest);
      return 0;
    }
    throw new UsageError(`unknown command '${cmd}'\n\n${USAGE}`);
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`recurrent: ${(e as Error).message}\n`);
    return usage ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

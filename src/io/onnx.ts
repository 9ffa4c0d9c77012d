/**
 * ONNX export of a SequenceModel: Embedding -> RNN / LSTM / GRU (any layers, directions) ->
 * Linear, with ONNX's RNN, LSTM and GRU operators (see onnx-graph.ts). The batch and the
 * sequence length are symbolic, the final states are outputs (hN, cN), and the initial states
 * zeros (PyTorch's default) or, with `initialStates`, graph inputs h0, c0 (for a caller that
 * carries the state from call to call), as torch.onnx.export makes them inputs only when given.
 *
 * Legend: T steps, B batch, I input, H hidden, D directions, L layers, O outputs.
 */
import type { SequenceModel } from '../nn/sequence-model.js';
import { GraphBuilder, loadOnnx, onnxRefusal, INT32, FLOAT } from './onnx-graph.js';
import { Seq2Seq } from '../nn/seq2seq.js';
import { BahdanauAttention, MultiheadAttention } from '../nn/attention.js';

/** Options of `exportOnnx`. */
export interface OnnxExportOptions {
  /**
   * Make the initial states graph inputs `h0` (and `c0` for an LSTM), (L*D, batch, H), which a
   * runtime then requires (default false: the states start at zeros and are not inputs).
   */
  initialStates?: boolean;
}

/** Exports `model` to the bytes of an ONNX model (opset 14). */
export async function exportOnnx(model: SequenceModel, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const who = 'exportOnnx';
  if (options === null || typeof options !== 'object') throw new Error(`${who}: options must be an object, got ${String(options)}`);
  const withStates = options.initialStates ?? false;
  if (typeof withStates !== 'boolean') throw new Error(`${who}: initialStates must be true or false, got ${String(withStates)}`);
  const b = new GraphBuilder(await loadOnnx(), new Map(model.namedParameters()), who);
  const rnn = model.rnn;
  const kind = (rnn.rule.onnx as { op?: string }).op;
  const H = rnn.hiddenSize;
  const D = rnn.numDirections;
  const L = rnn.numLayers;

  // input: token ids (T, B) or features (T, B, I); batch-first layouts transposed to time-first
  const inputName = 'input';
  const time = rnn.batchFirst ? ['batch', 'seq'] : ['seq', 'batch'];
  let x = inputName;
  if (rnn.batchFirst) x = b.op('Transpose', [x], 'time_first', [b.attr('perm', model.embedding ? [1, 0] : [1, 0, 2])]);
  if (model.embedding) {
    const e = model.embedding;
    x = b.op('Gather', [b.floatInit('embedding.weight', [e.numEmbeddings, e.embeddingDim], b.param('embedding.weight').data), x], 'embedded', [b.attr('axis', 0)]);
  }
  // each layer's initial states: slices of the inputs h0 (c0), or zeros (an omitted input)
  const range = (name: string) => (l: number): string => (withStates
    ? b.op('Slice', [name, b.int64Init(b.fresh('starts'), [l * D]), b.int64Init(b.fresh('ends'), [(l + 1) * D]), b.int64Init(b.fresh('axes'), [0])], `${name}_l${l}`)
    : '');
  const { seq, hN, cN } = b.recurrent(rnn, 'rnn', x, { h0: range('h0'), c0: range('c0') });
  x = seq;
  b.concat0(hN, 'hN');
  if (kind === 'LSTM') b.concat0(cN, 'cN');

  // the head on every step, the last step or the mean over steps
  let feat = x;
  if (model.output === 'last') {
    feat = b.op('Gather', [x, b.int64Init(b.fresh('last_index'), [-1])], 'last', [b.attr('axis', 0)]);
    feat = b.op('Squeeze', [feat, b.int64Init(b.fresh('squeeze_axes'), [0])], 'last_step');
  } else if (model.output === 'mean') {
    feat = b.op('ReduceMean', [x], 'mean', [b.attr('axes', [0]), b.attr('keepdims', 0)]);
  }
  let out = b.linear(feat, model.head, 'head');
  if (model.output === 'sequence' && rnn.batchFirst) out = b.op('Transpose', [out], 'batch_first', [b.attr('perm', [1, 0, 2])]);
  b.node('Identity', [out], ['output']);

  const LD = L * D;
  const inputs = [
    model.embedding ? b.value(inputName, INT32, time) : b.value(inputName, FLOAT, [...time, rnn.inputSize]),
    ...(withStates ? [b.value('h0', FLOAT, [LD, 'batch', H]), ...(kind === 'LSTM' ? [b.value('c0', FLOAT, [LD, 'batch', H])] : [])] : []),
  ];
  const O = model.head.outFeatures;
  const outDims = model.output === 'sequence' ? [...time, O] : ['batch', O];
  const outputs = [b.value('output', FLOAT, outDims), b.value('hN', FLOAT, [LD, 'batch', H]), ...(kind === 'LSTM' ? [b.value('cN', FLOAT, [LD, 'batch', H])] : [])];
  return b.encode('recurrent', inputs, outputs);
}

/** The two graphs of a Seq2Seq in ONNX: run the encoder once per source batch, then the decoder step per generated token. */
export interface Seq2SeqOnnx {
  /**
   * Inputs `source` (S, N) int32 and `source_lengths` (N) int32; outputs `keys` (N, S, We),
   * `projected` (N, S, Hd; Bahdanau attention's Ua(keys)), `mask_bias` (N, S: 0, or -Infinity
   * at padded steps) and the decoder's first state `h` (and `c`) (L, N, Hd).
   */
  encoder: Uint8Array;
  /**
   * Inputs `prev` (N) int32 (the start token first), `h` (and `c`), and the encoder's `keys`,
   * `projected` and `mask_bias`; outputs `logits` (N, Vt), the next `h_out` (and `c_out`) and
   * the attention `weights` (N, S).
   */
  decoder: Uint8Array;
}

/**
 * Exports a Seq2Seq as two ONNX graphs, the encoder and one decoder step, the way ONNX Runtime
 * serves sequence-to-sequence models: a caller runs the encoder, then feeds each step's best
 * token (or its beam's) back into the decoder step with the state it returned.
 */
export async function exportSeq2SeqOnnx(model: Seq2Seq): Promise<Seq2SeqOnnx> {
  const who = 'exportSeq2SeqOnnx';
  if (!(model instanceof Seq2Seq)) throw new Error(`${who}: model must be a Seq2Seq`);
  if (model.attention instanceof MultiheadAttention) throw new Error(`${who}: multi-head attention in a Seq2Seq is not exported (its decoder step would need the attention's head split); export a model with attention 'bahdanau' or 'none'`);
  for (const [part, rnn] of [['encoder', model.encoder], ['decoder', model.decoder]] as const) {
    const why = onnxRefusal(rnn);
    if (why) throw new Error(`${who}: the ${part}: ${why}`);
  }
  const onnx = await loadOnnx();
  const params = new Map(model.namedParameters());
  const bahdanau = model.attention instanceof BahdanauAttention;
  const cell = model.decoder.rule.cell;
  const Hd = model.decoder.hiddenSize, Ld = model.decoder.numLayers;
  const We = model.encoder.hiddenSize * model.encoder.numDirections;

  // the encoder
  const e = new GraphBuilder(onnx, params, who);
  const se = model.sourceEmbedding;
  const emb = e.op('Gather', [e.floatInit('source_embedding.weight', [se.numEmbeddings, se.embeddingDim], e.param('source_embedding.weight').data), 'source'], 'embedded', [e.attr('axis', 0)]);
  const enc = e.recurrent(model.encoder, 'encoder', emb, { lengths: 'source_lengths' });
  e.node('Transpose', [enc.seq], ['keys'], [e.attr('perm', [1, 0, 2])]);
  if (bahdanau) e.node('Identity', [e.linear('keys', (model.attention as BahdanauAttention).Ua, 'attention.Ua')], ['projected']);
  // padded source steps: -Infinity added to their scores
  const S = e.op('Gather', [e.op('Shape', ['source'], 'source_shape'), e.int64Init(e.fresh('zero'), [0], true)], 'S', [e.attr('axis', 0)]);
  const steps = e.op('Range', [e.int64Init(e.fresh('start'), [0], true), S, e.int64Init(e.fresh('delta'), [1], true)], 'steps');
  const lengths = e.op('Unsqueeze', [e.op('Cast', ['source_lengths'], 'lengths64', [e.attr('to', 7)]), e.int64Init(e.fresh('axes'), [1])], 'lengths_col');
  e.node('Where', [e.op('Less', [steps, lengths], 'valid'), e.floatInit(e.fresh('zero_f'), [], [0]), e.floatInit(e.fresh('minus_inf'), [], [-Infinity])], ['mask_bias']);
  // the decoder's first state: the top encoder layer's final state, both directions side by side
  const first = (final: string, name: string): void => {
    let h = e.op('Reshape', [e.op('Transpose', [final], `${name}_nd`, [e.attr('perm', [1, 0, 2])]), e.int64Init(e.fresh('shape'), [0, -1])], `${name}_flat`);
    if (model.bridge) h = e.op('Tanh', [e.linear(h, model.bridge, 'bridge')], `${name}_bridged`);
    const one = e.op('Unsqueeze', [h, e.int64Init(e.fresh('axes'), [0])], `${name}_layer`);
    e.concat0(new Array<string>(Ld).fill(one), name);
  };
  const Le = model.encoder.numLayers;
  first(enc.hN[Le - 1]!, 'h');
  if (cell) {
    if (model.encoder.rule.cell) first(enc.cN[Le - 1]!, 'c');
    else e.node('Mul', ['h', e.floatInit(e.fresh('zero_c'), [], [0])], ['c']);
  }
  const eIn = [e.value('source', INT32, ['source_length', 'batch']), e.value('source_lengths', INT32, ['batch'])];
  const eOut = [
    e.value('keys', FLOAT, ['batch', 'source_length', We]),
    ...(bahdanau ? [e.value('projected', FLOAT, ['batch', 'source_length', Hd])] : []),
    e.value('mask_bias', FLOAT, ['batch', 'source_length']),
    e.value('h', FLOAT, [Ld, 'batch', Hd]),
    ...(cell ? [e.value('c', FLOAT, [Ld, 'batch', Hd])] : []),
  ];
  const encoder = e.encode('encoder', eIn, eOut);

  // one decoder step
  const d = new GraphBuilder(onnx, params, who);
  const te = model.targetEmbedding;
  const temb = d.op('Gather', [d.floatInit('target_embedding.weight', [te.numEmbeddings, te.embeddingDim], d.param('target_embedding.weight').data), 'prev'], 'target_embedded', [d.attr('axis', 0)]);
  let ctx: string | null = null;
  if (bahdanau) {
    const att = model.attention as BahdanauAttention;
    const q = d.op('Gather', ['h', d.int64Init(d.fresh('top'), [Ld - 1], true)], 'query', [d.attr('axis', 0)]);
    const wq = d.op('Unsqueeze', [d.linear(q, att.Wa, 'attention.Wa'), d.int64Init(d.fresh('axes'), [1])], 'wq');
    const score = d.linear(d.op('Tanh', [d.op('Add', [wq, 'projected'], 'wq_uk')], 'energy'), att.Va, 'attention.Va');
    const masked = d.op('Add', [d.op('Squeeze', [score, d.int64Init(d.fresh('axes'), [2])], 'scores'), 'mask_bias'], 'masked_scores');
    d.node('Softmax', [masked], ['weights'], [d.attr('axis', 1)]);
    const c3 = d.op('MatMul', [d.op('Unsqueeze', ['weights', d.int64Init(d.fresh('axes'), [1])], 'weights_row'), 'keys'], 'context3');
    ctx = d.op('Squeeze', [c3, d.int64Init(d.fresh('axes'), [1])], 'context');
  }
  const input = ctx ? d.op('Concat', [temb, ctx], 'decoder_input', [d.attr('axis', 1)]) : temb;
  const x = d.op('Unsqueeze', [input, d.int64Init(d.fresh('axes'), [0])], 'decoder_step');
  const slice = (name: string) => (l: number): string =>
    d.op('Slice', [name, d.int64Init(d.fresh('starts'), [l]), d.int64Init(d.fresh('ends'), [l + 1]), d.int64Init(d.fresh('axes'), [0])], `${name}_l${l}`);
  const dec = d.recurrent(model.decoder, 'decoder', x, { h0: slice('h'), c0: cell ? slice('c') : undefined });
  d.concat0(dec.hN, 'h_out');
  if (cell) d.concat0(dec.cN, 'c_out');
  const top = d.op('Squeeze', [dec.seq, d.int64Init(d.fresh('axes'), [0])], 'decoder_top');
  const outputContext = model.out.inFeatures > Hd;
  const feat = outputContext && ctx ? d.op('Concat', [top, ctx], 'out_input', [d.attr('axis', 1)]) : top;
  d.node('Identity', [d.linear(feat, model.out, 'out')], ['logits']);
  const dIn = [
    d.value('prev', INT32, ['batch']), d.value('h', FLOAT, [Ld, 'batch', Hd]), ...(cell ? [d.value('c', FLOAT, [Ld, 'batch', Hd])] : []),
    ...(bahdanau ? [d.value('keys', FLOAT, ['batch', 'source_length', We]), d.value('projected', FLOAT, ['batch', 'source_length', Hd]), d.value('mask_bias', FLOAT, ['batch', 'source_length'])] : []),
  ];
  const dOut = [
    d.value('logits', FLOAT, ['batch', model.config.targetVocab]), d.value('h_out', FLOAT, [Ld, 'batch', Hd]),
    ...(cell ? [d.value('c_out', FLOAT, [Ld, 'batch', Hd])] : []), ...(bahdanau ? [d.value('weights', FLOAT, ['batch', 'source_length'])] : []),
  ];
  return { encoder, decoder: d.encode('decoder_step', dIn, dOut) };
}

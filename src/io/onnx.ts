/**
 * ONNX export of a SequenceModel: Embedding -> RNN / LSTM / GRU (any layers, directions) ->
 * Linear, with ONNX's RNN, LSTM and GRU operators. Gate blocks are reordered (PyTorch LSTM
 * i,f,g,o -> ONNX i,o,f,c; GRU r,z,n -> z,r,h with linear_before_reset = 1), the batch and the
 * sequence length are symbolic, the final states are outputs (hN, cN), and the initial states
 * zeros (PyTorch's default) or, with `initialStates`, graph inputs h0, c0 (for a caller that
 * carries the state from call to call), as torch.onnx.export makes them inputs only when given.
 * Encoded with protobufjs's code
 * generated from onnx.proto (the onnx-proto package), loaded when first needed so the rest of
 * the library has no dependency on it.
 *
 * Legend: T steps, B batch, I input, H hidden, D directions, L layers, G gates, O outputs.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { SequenceModel } from '../nn/sequence-model.js';
import { layerParamName } from '../nn/rnn.js';
import { VERSION } from '../version.js';

type OnnxModule = typeof import('onnx-proto');
type Onnx = OnnxModule['onnx'];

const OPSET = 14;
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

interface Builder {
  nodes: unknown[];
  inits: unknown[];
  n: number;
}

function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const a = Float32Array.from(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reorders the G row blocks of a (G*H, ...) PyTorch weight into ONNX's gate order. */
function reorder(data: ArrayLike<number>, blocks: number, order: readonly number[]): number[] {
  const rows = data.length / blocks;
  const out: number[] = [];
  for (const b of order) for (let i = 0; i < rows; i++) out.push(data[b * rows + i]!);
  return out;
}

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
  const pkg = ((await import('onnx-proto')) as unknown as { default?: OnnxModule } & OnnxModule);
  const onnx: Onnx = (pkg.default ?? pkg).onnx;
  const rnn = model.rnn;
  if (rnn.projSize > 0) {
    throw new Error(`${who}: LSTM projections (projSize ${rnn.projSize}) have no ONNX operator; export a model without projSize`);
  }
  if (rnn.zoneout > 0) {
    throw new Error(`${who}: a layer trained with zoneout (${rnn.zoneout}) evaluates as p * previous + (1 - p) * new state, which ONNX's recurrent operators cannot express`);
  }
  // the cell's rule says which operator takes it, in what gate order, or why none does
  const mapping = rnn.rule.onnx;
  if ('refused' in mapping) throw new Error(`${who}: a ${rnn.rule.layer} cannot be exported to ONNX: ${mapping.refused}`);
  const kind = mapping.op;
  const G = rnn.rule.gates.length;
  const order = mapping.order;
  // Keras's variants: ONNX's HardSigmoid has Keras's alpha 0.2 and beta 0.5; reset before the product is linear_before_reset 0
  const hard = rnn.variant.gateActivation === 'hard_sigmoid';
  const H = rnn.hiddenSize;
  const D = rnn.numDirections;
  const L = rnn.numLayers;
  const b: Builder = { nodes: [], inits: [], n: 0 };
  const fresh = (base: string): string => `${base}_${b.n++}`;
  const attr = (name: string, v: number | string | number[] | string[]): unknown => {
    if (typeof v === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
    if (typeof v === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
    if (typeof v[0] === 'string') return { name, type: onnx.AttributeProto.AttributeType.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v as number[] };
  };
  const node = (op: string, inputs: string[], outputs: string[], attrs: unknown[] = []): void => {
    b.nodes.push({ opType: op, input: inputs, output: outputs, name: fresh(op), attribute: attrs });
  };
  const floatInit = (name: string, dims: number[], values: ArrayLike<number>): string => {
    b.inits.push({ name, dims, dataType: FLOAT, rawData: f32Bytes(values) });
    return name;
  };
  const int64Init = (name: string, values: number[]): string => {
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    b.inits.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(a.buffer) });
    return name;
  };
  const params = new Map(model.namedParameters());
  const p = (name: string): Tensor => {
    const t = params.get(name);
    if (!t) throw new Error(`${who}: the model has no parameter '${name}'`);
    return t;
  };

  // input: token ids (T, B) or features (T, B, I); batch-first layouts transposed to time-first
  const inputName = 'input';
  const time = rnn.batchFirst ? ['batch', 'seq'] : ['seq', 'batch'];
  let x = inputName;
  if (rnn.batchFirst) {
    const t = fresh('time_first');
    node('Transpose', [x], [t], [attr('perm', model.embedding ? [1, 0] : [1, 0, 2])]);
    x = t;
  }
  if (model.embedding) {
    const e = model.embedding;
    const w = floatInit('embedding.weight', [e.numEmbeddings, e.embeddingDim], p('embedding.weight').data);
    const out = fresh('embedded');
    node('Gather', [w, x], [out], [attr('axis', 0)]);
    x = out;
  }
  const hN: string[] = [];
  const cN: string[] = [];
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? rnn.inputSize : D * H;
    const dirs = Array.from({ length: D }, (_, d) => `_l${l}${d === 1 ? '_reverse' : ''}`);
    const W = floatInit(`W_l${l}`, [D, G * H, I], dirs.flatMap((s) => reorder(p(`rnn.weight_ih${s}`).data, G, order)));
    const R = floatInit(`R_l${l}`, [D, G * H, H], dirs.flatMap((s) => reorder(p(`rnn.weight_hh${s}`).data, G, order)));
    const B = rnn.bias
      ? floatInit(`B_l${l}`, [D, 2 * G * H], dirs.flatMap((s) => [...reorder(p(`rnn.bias_ih${s}`).data, G, order), ...reorder(p(`rnn.bias_hh${s}`).data, G, order)]))
      : '';
    // peepholes: ONNX's P (D, 3H), blocks i, o, f, from the parameters of the rule's roles
    const nameOf = (role: string): string => rnn.rule.params.find((q) => q.role === role)!.name;
    const P = mapping.peepholes
      ? floatInit(`P_l${l}`, [D, 3 * H], Array.from({ length: D }, (_, d) => mapping.peepholes!.flatMap((role) => Array.from(p(`rnn.${layerParamName(nameOf(role), l, d)}`).data))).flat())
      : null;
    const range = (name: string): string => {
      if (!withStates) return ''; // an omitted optional input: zeros
      const out = fresh(`${name}_l${l}`);
      node('Slice', [name, int64Init(fresh('starts'), [l * D]), int64Init(fresh('ends'), [(l + 1) * D]), int64Init(fresh('axes'), [0])], [out]);
      return out;
    };
    const h0 = range('h0');
    const c0 = rnn.rule.cell ? range('c0') : null;
    const Y = fresh(`Y_l${l}`);
    const Yh = fresh(`Yh_l${l}`);
    const Yc = kind === 'LSTM' ? fresh(`Yc_l${l}`) : null;
    const attrs = [attr('hidden_size', H), attr('direction', D === 2 ? 'bidirectional' : 'forward')];
    if (kind === 'GRU') attrs.push(attr('linear_before_reset', rnn.variant.resetAfter === false ? 0 : 1));
    if (kind === 'RNN') attrs.push(attr('activations', Array.from({ length: D }, () => mapping.activation ?? 'Tanh')));
    else if (hard) attrs.push(attr('activations', Array.from({ length: D }, () => (kind === 'LSTM' ? ['HardSigmoid', 'Tanh', 'Tanh'] : ['HardSigmoid', 'Tanh'])).flat()));
    // optional inputs left out are '' (ONNX's rule), trailing ones dropped
    const optional = [B, '', h0, kind === 'LSTM' ? c0 ?? '' : '', P ?? ''];
    while (optional.length && optional[optional.length - 1] === '') optional.pop();
    node(kind, [x, W, R, ...optional], [Y, Yh, ...(Yc ? [Yc] : [])], attrs);
    hN.push(Yh);
    if (Yc) cN.push(Yc);
    // Y (T, D, B, H) -> (T, B, D, H) -> (T, B, D*H)
    const tr = fresh(`Yt_l${l}`);
    node('Transpose', [Y], [tr], [attr('perm', [0, 2, 1, 3])]);
    const seq = fresh(`seq_l${l}`);
    node('Reshape', [tr, int64Init(fresh('shape'), [0, 0, -1])], [seq]);
    x = seq;
  }
  const concatOrSelf = (names: string[], out: string): void => {
    if (names.length === 1) node('Identity', names, [out]);
    else node('Concat', names, [out], [attr('axis', 0)]);
  };
  concatOrSelf(hN, 'hN');
  if (kind === 'LSTM') concatOrSelf(cN, 'cN');

  // the head on every step, the last step or the mean over steps
  let feat = x;
  if (model.output === 'last') {
    feat = fresh('last');
    node('Gather', [x, int64Init(fresh('last_index'), [-1])], [feat], [attr('axis', 0)]);
    const sq = fresh('last_step');
    node('Squeeze', [feat, int64Init(fresh('squeeze_axes'), [0])], [sq]);
    feat = sq;
  } else if (model.output === 'mean') {
    feat = fresh('mean');
    node('ReduceMean', [x], [feat], [attr('axes', [0]), attr('keepdims', 0)]);
  }
  const head = model.head;
  const Wt = new Float32Array(head.inFeatures * head.outFeatures); // (in, out): MatMul's right operand
  const hw = p('head.weight').data;
  for (let o = 0; o < head.outFeatures; o++) for (let i = 0; i < head.inFeatures; i++) Wt[i * head.outFeatures + o] = hw[o * head.inFeatures + i]!;
  const mm = fresh('head_mm');
  node('MatMul', [feat, floatInit('head.weight_t', [head.inFeatures, head.outFeatures], Wt)], [mm]);
  let out = mm;
  if (head.bias) {
    out = fresh('head_out');
    node('Add', [mm, floatInit('head.bias', [head.outFeatures], p('head.bias').data)], [out]);
  }
  if (model.output === 'sequence' && rnn.batchFirst) {
    const bf = fresh('batch_first');
    node('Transpose', [out], [bf], [attr('perm', [1, 0, 2])]);
    out = bf;
  }
  node('Identity', [out], ['output']);

  const dim = (d: string | number): unknown => (typeof d === 'string' ? { dimParam: d } : { dimValue: d });
  const value = (name: string, elem: number, dims: (string | number)[]): unknown => ({
    name, type: { tensorType: { elemType: elem, shape: { dim: dims.map(dim) } } },
  });
  const LD = L * D;
  const inputs = [
    model.embedding ? value(inputName, INT32, time) : value(inputName, FLOAT, [...time, rnn.inputSize]),
    ...(withStates ? [value('h0', FLOAT, [LD, 'batch', H]), ...(kind === 'LSTM' ? [value('c0', FLOAT, [LD, 'batch', H])] : [])] : []),
  ];
  const O = head.outFeatures;
  const outDims = model.output === 'sequence' ? [...time, O] : ['batch', O];
  const outputs = [value('output', FLOAT, outDims), value('hN', FLOAT, [LD, 'batch', H]), ...(kind === 'LSTM' ? [value('cN', FLOAT, [LD, 'batch', H])] : [])];
  const msg = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'recurrent',
    producerVersion: VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: { name: 'recurrent', node: b.nodes as never, initializer: b.inits as never, input: inputs as never, output: outputs as never },
  });
  return onnx.ModelProto.encode(msg).finish();
}

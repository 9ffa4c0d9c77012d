/**
 * TensorFlow.js / Keras layers models to recurrent: a Sequential of Embedding, SimpleRNN, LSTM,
 * GRU (reset_after true or false), Bidirectional (concat), Dense / TimeDistributed(Dense),
 * Activation, Dropout and InputLayer converts to a `Sequential` of the equivalent modules.
 * Keras is batch-first; kernels are stored (in, out) and transposed here; Keras's LSTM gate
 * order i, f, c, o is PyTorch's; GRU's z, r, h becomes r, z, n; a single bias becomes b_ih
 * (b_hh zero) and reset_after's pair of biases becomes b_ih, b_hh. Keras 2's hard_sigmoid
 * (TensorFlow.js's default recurrent activation) is clip(0.2 x + 0.5, 0, 1).
 */
import { Tensor } from '../tensor/tensor.js';
import { permute, reshape, squeeze, softmax } from '../autograd/index.js';
import { Sequential } from '../nn/sequential.js';
import { Embedding, Linear } from '../nn/layers.js';
import { LSTM, GRU, RNN } from '../nn/rnn.js';
import { CELL_RULES } from '../backend/cells.js';
import type { Module } from '../nn/module.js';

/** A weight's description in a TF.js model (model.json's weightsManifest, or saved artifacts' weightSpecs). */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
}

/** A TF.js layers model: model.json's fields and the weight bytes (shards in manifest order). */
export interface TfjsModel {
  modelTopology: unknown;
  weightSpecs?: TfjsWeightSpec[];
  weightsManifest?: { paths?: string[]; weights: TfjsWeightSpec[] }[];
  weightData: ArrayBuffer | Uint8Array | (ArrayBuffer | Uint8Array)[];
}

type LayerConfig = { class_name: string; config: Record<string, unknown> };

function fail(msg: string): never {
  throw new Error(`fromTfjs: ${msg}`);
}

function bytesOf(d: ArrayBuffer | Uint8Array): Uint8Array {
  return d instanceof Uint8Array ? d : new Uint8Array(d);
}

/** A reader of the weights in order, checking each one's shape and dtype. */
function weightReader(m: TfjsModel): (expectName: string) => { data: Float32Array; shape: number[] } {
  const specs = m.weightSpecs ?? (m.weightsManifest ?? []).flatMap((g) => g.weights);
  const parts = Array.isArray(m.weightData) ? m.weightData.map(bytesOf) : [bytesOf(m.weightData)];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const need = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (need !== all.length) fail(`the weight specs need ${need} bytes but the weight data hold ${all.length}`);
  let i = 0;
  let off = 0;
  const view = new DataView(all.buffer);
  return (expect) => {
    const s = specs[i++];
    if (!s) fail(`the model has fewer weights than its layers need (missing ${expect})`);
    if (s.dtype && s.dtype !== 'float32') fail(`weight ${s.name} is ${s.dtype}; only float32 weights are supported`);
    if (!s.name.includes(expect)) fail(`expected a weight named like '${expect}', found '${s.name}'`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let k = 0; k < n; k++) data[k] = view.getFloat32(off + 4 * k, true);
    off += 4 * n;
    return { data, shape: s.shape };
  };
}

/** (rows, cols) row-major -> (cols, rows). */
function transpose(d: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(d.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = d[r * cols + c]!;
  return out;
}

/** Reorders G blocks of `size` along the leading axis. */
function blocks(d: Float32Array, G: number, order: readonly number[]): Float32Array {
  const size = d.length / G;
  const out = new Float32Array(d.length);
  order.forEach((src, dst) => out.set(d.subarray(src * size, (src + 1) * size), dst * size));
  return out;
}

function activation(name: unknown, layer: string): (x: Tensor) => Tensor {
  switch (name ?? 'linear') {
    case 'linear': return (x) => x;
    case 'softmax': return (x) => softmax(x, -1);
    case 'sigmoid': return (x) => x.sigmoid();
    case 'tanh': return (x) => x.tanh();
    case 'relu': return (x) => x.relu();
    default: return fail(`layer ${layer}: activation '${String(name)}' is not supported (linear, softmax, sigmoid, tanh, relu)`);
  }
}

const GATE_ACT: Record<string, 'sigmoid' | 'hard_sigmoid'> = { sigmoid: 'sigmoid', hard_sigmoid: 'hard_sigmoid', hardSigmoid: 'hard_sigmoid' };

interface RecurrentBuild {
  module: LSTM | GRU | RNN;
  run: (x: Tensor) => Tensor;
}

/** One Keras recurrent layer (inside a Bidirectional when `bidirectional`). */
function recurrent(l: LayerConfig, inputSize: number, bidirectional: boolean, read: ReturnType<typeof weightReader>): RecurrentBuild {
  const c = l.config;
  const name = String(c['name'] ?? l.class_name);
  const kind = l.class_name;
  const H = Number(c['units']);
  if (!Number.isInteger(H) || H < 1) fail(`layer ${name}: units must be a positive integer`);
  if (c['go_backwards']) fail(`layer ${name}: go_backwards is not supported (wrap the layer in Bidirectional instead)`);
  if (c['return_state']) fail(`layer ${name}: return_state is not supported in a Sequential`);
  if (c['stateful']) fail(`layer ${name}: stateful layers are not supported`);
  const act = c['activation'] ?? 'tanh';
  if (kind !== 'SimpleRNN' && act !== 'tanh') fail(`layer ${name}: activation '${String(act)}' is not supported (tanh)`);
  if (kind === 'SimpleRNN' && act !== 'tanh' && act !== 'relu') fail(`layer ${name}: activation '${String(act)}' is not supported (tanh, relu)`);
  const gateAct = GATE_ACT[String(c['recurrent_activation'] ?? 'hard_sigmoid')];
  if (kind !== 'SimpleRNN' && !gateAct) fail(`layer ${name}: recurrent_activation '${String(c['recurrent_activation'])}' is not supported (sigmoid, hard_sigmoid)`);
  const useBias = c['use_bias'] !== false;
  // the gate blocks and their order from the cell's rule (the first rule taking this Keras class)
  const rule = Object.values(CELL_RULES).find((r) => 'className' in r.keras && r.keras.className === kind);
  if (!rule || !('className' in rule.keras)) fail(`layer ${name}: ${kind} is not a recurrent layer this library reads`);
  const G = rule.gates.length;
  const order = rule.keras.order;
  const D = bidirectional ? 2 : 1;
  const state: Record<string, Tensor> = {};
  let resetAfter: boolean | undefined;
  for (let d = 0; d < D; d++) {
    const sfx = `_l0${d === 1 ? '_reverse' : ''}`;
    const k = read('kernel');
    if (k.shape[0] !== inputSize || k.shape[1] !== G * H) fail(`layer ${name}: kernel has shape [${k.shape}], expected [${inputSize}, ${G * H}]`);
    const rk = read('recurrent_kernel');
    if (rk.shape[0] !== H || rk.shape[1] !== G * H) fail(`layer ${name}: recurrent_kernel has shape [${rk.shape}], expected [${H}, ${G * H}]`);
    state[`weight_ih${sfx}`] = new Tensor(blocks(transpose(k.data, inputSize, G * H), G, order), [G * H, inputSize]);
    state[`weight_hh${sfx}`] = new Tensor(blocks(transpose(rk.data, H, G * H), G, order), [G * H, H]);
    if (useBias) {
      const b = read('bias');
      const pair = b.shape.length === 2 && b.shape[0] === 2 && b.shape[1] === G * H;
      if (!pair && !(b.shape.length === 1 && b.shape[0] === G * H)) fail(`layer ${name}: bias has shape [${b.shape}], expected [${G * H}] or [2, ${G * H}]`);
      if (kind === 'GRU') resetAfter = pair;
      else if (pair) fail(`layer ${name}: a pair of biases is only valid for a GRU with reset_after`);
      state[`bias_ih${sfx}`] = new Tensor(blocks(pair ? b.data.slice(0, G * H) : b.data, G, order), [G * H]);
      state[`bias_hh${sfx}`] = new Tensor(pair ? blocks(b.data.slice(G * H), G, order) : new Float32Array(G * H), [G * H]);
    }
  }
  if (kind === 'GRU' && resetAfter === undefined) resetAfter = c['reset_after'] === true;
  // Keras's recurrent dropout is this library's (one mask per sequence on the state entering each step)
  const recurrentDropout = Number(c['recurrent_dropout'] ?? 0);
  if (!(recurrentDropout >= 0 && recurrentDropout < 1)) fail(`layer ${name}: recurrent_dropout must be in [0, 1), got ${String(c['recurrent_dropout'])}`);
  const base = { inputSize, hiddenSize: H, batchFirst: true, bidirectional, bias: useBias, recurrentDropout };
  const module = kind === 'LSTM' ? new LSTM({ ...base, recurrentActivation: gateAct })
    : kind === 'GRU' ? new GRU({ ...base, recurrentActivation: gateAct, resetAfter })
      : new RNN({ ...base, nonlinearity: act === 'relu' ? 'relu' : 'tanh' });
  module.loadStateDict(state);
  module.eval();
  const returnSequences = c['return_sequences'] === true;
  const run = (x: Tensor): Tensor => {
    const r = module instanceof LSTM ? module.forward(x) : module.forward(x);
    const out = r[0];
    const hN = module instanceof LSTM ? (r[1] as [Tensor, Tensor])[0] : (r[1] as Tensor); // (D, B, H)
    if (returnSequences) return out; // (B, T, D*H)
    // Keras's last output: the forward direction's final state, and the backward one's (position 0)
    return D === 1 ? squeeze(hN, 0) : reshape(permute(hN, [1, 0, 2]), [hN.shape[1]!, D * H]);
  };
  return { module, run };
}

/** Converts a TensorFlow.js layers model (a Sequential) to a recurrent `Sequential`. */
export function fromTfjs(m: TfjsModel): Sequential {
  if (!m || typeof m !== 'object') fail('expected { modelTopology, weightsManifest or weightSpecs, weightData }');
  const top = m.modelTopology as { class_name?: string; config?: { layers?: LayerConfig[] } | LayerConfig[]; model_config?: unknown } | null;
  const topo = (top && 'model_config' in top && top.model_config ? top.model_config : top) as { class_name?: string; config?: { layers?: LayerConfig[] } | LayerConfig[] } | null;
  if (!topo || topo.class_name !== 'Sequential') fail(`only Sequential models convert (this one is ${topo?.class_name ?? 'unknown'})`);
  const layers = Array.isArray(topo.config) ? topo.config : topo.config?.layers;
  if (!Array.isArray(layers) || layers.length === 0) fail('the model has no layers');
  const read = weightReader(m);
  const model = new Sequential();
  let width: number | null = null; // features of the current output
  const firstShape = (layers[0]!.config['batch_input_shape'] ?? layers[0]!.config['batchInputShape']) as (number | null)[] | undefined;
  if (firstShape && firstShape.length === 3) width = firstShape[2] as number;
  const used = new Set<string>();
  const uniq = (n: string): string => {
    let s = n.replace(/[^A-Za-z0-9_]/g, '_');
    while (used.has(s)) s += '_';
    used.add(s);
    return s;
  };
  for (const l of layers) {
    const name = String(l.config['name'] ?? l.class_name);
    const c = l.config;
    const add = (module: Module | null, run: (x: Tensor) => Tensor): void => {
      model.add({ name: uniq(name), module, run });
    };
    switch (l.class_name) {
      case 'InputLayer':
        break;
      case 'Dropout':
      case 'SpatialDropout1D':
        break; // inference
      case 'Embedding': {
        if (c['mask_zero']) fail(`layer ${name}: mask_zero is not supported`);
        const e = new Embedding({ numEmbeddings: Number(c['input_dim']), embeddingDim: Number(c['output_dim']) });
        const w = read('embeddings');
        e.loadStateDict({ weight: new Tensor(w.data, w.shape) });
        add(e, (x) => e.forward(x));
        width = e.embeddingDim;
        break;
      }
      case 'SimpleRNN':
      case 'LSTM':
      case 'GRU':
      case 'Bidirectional': {
        const bi = l.class_name === 'Bidirectional';
        const inner = bi ? (c['layer'] as LayerConfig) : l;
        if (bi && (c['merge_mode'] ?? 'concat') !== 'concat') fail(`layer ${name}: merge_mode '${String(c['merge_mode'])}' is not supported (concat)`);
        if (!inner || !['SimpleRNN', 'LSTM', 'GRU'].includes(inner.class_name)) fail(`layer ${name}: wraps ${inner?.class_name ?? 'nothing'}, not SimpleRNN, LSTM or GRU`);
        if (width === null) fail(`layer ${name}: the input width is unknown (give the first layer an input shape)`);
        const r = recurrent(inner, width, bi, read);
        add(r.module, r.run);
        width = r.module.hiddenSize * (bi ? 2 : 1);
        break;
      }
      case 'Dense':
      case 'TimeDistributed': {
        const dense = l.class_name === 'TimeDistributed' ? (c['layer'] as LayerConfig) : l;
        if (dense?.class_name !== 'Dense') fail(`layer ${name}: TimeDistributed wraps ${dense?.class_name ?? 'nothing'}, not Dense`);
        if (width === null) fail(`layer ${name}: the input width is unknown`);
        const units = Number(dense.config['units']);
        const useBias = dense.config['use_bias'] !== false;
        const lin = new Linear({ inFeatures: width, outFeatures: units, bias: useBias });
        const k = read('kernel');
        if (k.shape[0] !== width || k.shape[1] !== units) fail(`layer ${name}: kernel has shape [${k.shape}], expected [${width}, ${units}]`);
        const state: Record<string, Tensor> = { weight: new Tensor(transpose(k.data, width, units), [units, width]) };
        if (useBias) state['bias'] = new Tensor(read('bias').data, [units]);
        lin.loadStateDict(state);
        const f = activation(dense.config['activation'], name);
        add(lin, (x) => f(lin.forward(x)));
        width = units;
        break;
      }
      case 'Activation': {
        const f = activation(c['activation'], name);
        add(null, f);
        break;
      }
      default:
        fail(`layer ${name}: ${l.class_name} layers are not supported (Embedding, SimpleRNN, LSTM, GRU, Bidirectional, Dense, TimeDistributed(Dense), Activation, Dropout)`);
    }
  }
  model.eval();
  return model;
}


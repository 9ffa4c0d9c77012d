/**
 * One rule per kind of recurrent cell: what every part of the library reads instead of branching
 * on the kind. A rule gives the gate blocks, whether the state carries a cell c, the parameters
 * (names, shapes, first values), the reference sequence kernels (the specification, with the
 * equations and their BPTT beside the code) and how the cell crosses to ONNX and from Keras. Adding a cell is a
 * rule here, its reference kernels, and its layer and cell classes (src/nn).
 *
 * Legend: G gate blocks, H hidden size, I input width of the layer, P projection size (0 = none),
 * Hout = P || H (the width of h).
 */
import type { FloatArray } from '../tensor/dtype.js';
import type { RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from './backend.js';
import { recurrentForward as pytorchForward, recurrentBackward as pytorchBackward, recurrentActivations as pytorchActivations } from './reference/recurrent.js';
import { peepholeForward, peepholeBackward } from './reference/cells/peephole-lstm.js';
import { layerNormForward, layerNormBackward } from './reference/cells/layernorm-lstm.js';
import { minForward, minBackward } from './reference/cells/min.js';

/** Every kind of cell the sequence kernels run; the keys of CELL_RULES. */
export type CellKind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu' | 'layernorm_lstm' | 'peephole_lstm' | 'mingru' | 'minlstm';

/** The sizes a parameter's shape is made of. */
export interface ParamSizes {
  G: number;
  H: number;
  /** this layer's input width */
  I: number;
  Hout: number;
  P: number;
}

/** One parameter of one direction of one layer. */
export interface ParamSpec {
  /**
   * Where the kernels find it: a field of RecurrentWeights ('wih', 'whh', 'bih', 'bhh', 'whr') or,
   * for any other role, its `extra` entry of that name.
   */
  role: string;
  /** Its name in a cell; a layer inserts `_l{k}` (and `_reverse`) before any dot: layernorm_i_l0.weight. */
  name: string;
  shape: (s: ParamSizes) => number[];
  /** U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's recurrent layers; ones and zeros as LayerNorm's gain and shift. */
  init: 'uniform' | 'ones' | 'zeros';
  /** Present only with biases (the layer's `bias` option) or with a projection (`projSize` > 0). */
  only?: 'bias' | 'projection';
}

/** The roles kept in RecurrentWeights' own fields; every other role goes in its `extra`. */
export const BASE_ROLES = ['wih', 'whh', 'bih', 'bhh', 'whr'] as const;

type SequenceForward = (dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, keepCache: boolean) => RecurrentForwardResult;
type SequenceBackward = (dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
  needs: RecurrentNeeds) => RecurrentGrads;

/** How a cell's layer crosses to ONNX, or why it cannot. */
export type OnnxMapping =
  | {
    op: 'LSTM' | 'GRU' | 'RNN';
    /** Our gate blocks in ONNX's order: ONNX block b is our block order[b]. */
    order: readonly number[];
    /** RNN's activation. */
    activation?: 'Tanh' | 'Relu';
    /** LSTM's peepholes: the roles of ONNX's P blocks (i, o, f). */
    peepholes?: readonly [string, string, string];
  }
  | { refused: string };

/** Everything the library knows of one kind of cell (see CELL_RULES). */
/** How a cell's layer crosses from Keras (TensorFlow.js layers models), or why it cannot. */
export type KerasMapping =
  | {
    /** The Keras layer class. */
    className: 'LSTM' | 'GRU' | 'SimpleRNN';
    /** Our gate blocks from Keras's: our block b is Keras's block order[b]. */
    order: readonly number[];
  }
  | { refused: string };

export interface CellRule {
  /** The kind a SequenceModel config and the CLI name ('rnn' for both RNN nonlinearities). */
  model: string;
  /** The layer's class name, for messages. */
  layer: string;
  /** The gate blocks of W_ih x, in order (PyTorch's for its own cells: LSTM i, f, g, o; GRU r, z, n). */
  gates: readonly string[];
  /** Whether the state is a pair (h, c) rather than h alone. */
  cell: boolean;
  /** Whether it has a recurrent product W_hh h (minGRU and minLSTM do not: a sequence is one scan). */
  recurrent: boolean;
  /** Whether it takes projSize (h = W_hr m). */
  projection: boolean;
  /** Whether it takes `bias` (a cell whose norms' shifts act as biases does not). */
  biasOption: boolean;
  /**
   * Whether every backend's stepper for it sums as its layer's forward does (one kernel for
   * both), so that forward without gradients may run on a stepper's snapshot of the weights.
   */
  snapshot: boolean;
  /**
   * Whether a Seq2Seq decoder of this kind (one layer) may run all its steps as one attention
   * decoder (the backends' decoderForward): its parameters are PyTorch's W_ih, W_hh and biases alone.
   */
  attentionDecoder: boolean;
  params: readonly ParamSpec[];
  /** The reference sequence kernels: one direction of one layer over a whole sequence. */
  forward: SequenceForward;
  backward: SequenceBackward;
  /**
   * What every step computes, for looking inside a layer (RecurrentBase.activations): h, the
   * gate blocks' activations (T, B, G*H) and c where the cell has one. Absent: not shown.
   */
  activations?: (dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null) => { out: FloatArray; gates: FloatArray; c: FloatArray | null };
  onnx: OnnxMapping;
  keras: KerasMapping;
}

const weight = (role: string, name: string, shape: ParamSpec['shape'], only?: ParamSpec['only']): ParamSpec => ({ role, name, shape, init: 'uniform', ...(only ? { only } : {}) });
/** W_ih (G*H, I), W_hh (G*H, Hout), and their biases: PyTorch's recurrent parameters. */
const PYTORCH_PARAMS: readonly ParamSpec[] = [
  weight('wih', 'weight_ih', (s) => [s.G * s.H, s.I]),
  weight('whh', 'weight_hh', (s) => [s.G * s.H, s.Hout]),
  weight('bih', 'bias_ih', (s) => [s.G * s.H], 'bias'),
  weight('bhh', 'bias_hh', (s) => [s.G * s.H], 'bias'),
];
const norm = (role: string, name: string, width: (s: ParamSizes) => number, init: 'ones' | 'zeros'): ParamSpec => ({ role, name, shape: (s) => [width(s)], init });

const PYTORCH = { forward: pytorchForward, backward: pytorchBackward, activations: pytorchActivations, cell: false, recurrent: true, projection: false, biasOption: true, snapshot: true, attentionDecoder: true, params: PYTORCH_PARAMS };

/** Every cell's rule: the compiler checks that each kind has one, and that each is complete. */
export const CELL_RULES = {
  lstm: {
    ...PYTORCH, model: 'lstm', layer: 'LSTM', gates: ['i', 'f', 'g', 'o'], cell: true, projection: true,
    params: [...PYTORCH_PARAMS, weight('whr', 'weight_hr', (s) => [s.P, s.H], 'projection')],
    onnx: { op: 'LSTM', order: [0, 3, 1, 2] },
    // Keras's i, f, c, o is PyTorch's order
    keras: { className: 'LSTM', order: [0, 1, 2, 3] },
  },
  // Keras's z, r, h: our r is its block 1
  gru: { ...PYTORCH, model: 'gru', layer: 'GRU', gates: ['r', 'z', 'n'], onnx: { op: 'GRU', order: [1, 0, 2] }, keras: { className: 'GRU', order: [1, 0, 2] } },
  rnn_tanh: { ...PYTORCH, model: 'rnn', layer: 'RNN', gates: ['h'], onnx: { op: 'RNN', order: [0], activation: 'Tanh' }, keras: { className: 'SimpleRNN', order: [0] } },
  rnn_relu: { ...PYTORCH, model: 'rnn', layer: 'RNN', gates: ['h'], onnx: { op: 'RNN', order: [0], activation: 'Relu' }, keras: { className: 'SimpleRNN', order: [0] } },
  layernorm_lstm: {
    model: 'layernorm_lstm', layer: 'LayerNormLSTM', gates: ['i', 'f', 'g', 'o'], cell: true, recurrent: true, projection: false, biasOption: false, snapshot: false, attentionDecoder: false,
    params: [
      weight('wih', 'weight_ih', (s) => [s.G * s.H, s.I]),
      weight('whh', 'weight_hh', (s) => [s.G * s.H, s.H]),
      norm('lni_w', 'layernorm_i.weight', (s) => s.G * s.H, 'ones'), norm('lni_b', 'layernorm_i.bias', (s) => s.G * s.H, 'zeros'),
      norm('lnh_w', 'layernorm_h.weight', (s) => s.G * s.H, 'ones'), norm('lnh_b', 'layernorm_h.bias', (s) => s.G * s.H, 'zeros'),
      norm('lnc_w', 'layernorm_c.weight', (s) => s.H, 'ones'), norm('lnc_b', 'layernorm_c.bias', (s) => s.H, 'zeros'),
    ],
    forward: layerNormForward, backward: layerNormBackward,
    onnx: { refused: 'ONNX has no layer-normalised LSTM operator' },
    keras: { refused: 'Keras has no layer-normalised LSTM layer' },
  },
  peephole_lstm: {
    ...PYTORCH, model: 'peephole_lstm', layer: 'PeepholeLSTM', gates: ['i', 'f', 'g', 'o'], cell: true, snapshot: false, attentionDecoder: false,
    params: [...PYTORCH_PARAMS, weight('wci', 'weight_ci', (s) => [s.H]), weight('wcf', 'weight_cf', (s) => [s.H]), weight('wco', 'weight_co', (s) => [s.H])],
    forward: peepholeForward, backward: peepholeBackward,
    onnx: { op: 'LSTM', order: [0, 3, 1, 2], peepholes: ['wci', 'wco', 'wcf'] },
    keras: { refused: 'Keras has no peephole LSTM layer (TensorFlow Addons had one)' },
  },
  mingru: {
    model: 'mingru', layer: 'MinGRU', gates: ['k', 'z'], cell: false, recurrent: false, projection: false, biasOption: true, snapshot: false, attentionDecoder: false,
    params: [weight('wih', 'weight_ih', (s) => [s.G * s.H, s.I]), weight('bih', 'bias_ih', (s) => [s.G * s.H], 'bias')],
    forward: minForward, backward: minBackward,
    onnx: { refused: 'ONNX has no minGRU operator' },
    keras: { refused: 'Keras has no minGRU layer' },
  },
  minlstm: {
    model: 'minlstm', layer: 'MinLSTM', gates: ['k', 'f', 'i'], cell: false, recurrent: false, projection: false, biasOption: true, snapshot: false, attentionDecoder: false,
    params: [weight('wih', 'weight_ih', (s) => [s.G * s.H, s.I]), weight('bih', 'bias_ih', (s) => [s.G * s.H], 'bias')],
    forward: minForward, backward: minBackward,
    onnx: { refused: 'ONNX has no minLSTM operator' },
    keras: { refused: 'Keras has no minLSTM layer' },
  },
} as const satisfies Record<CellKind, CellRule>;

/** The rule of a kind of cell. */
export function cellRule(kind: CellKind): CellRule {
  const r: CellRule | undefined = (CELL_RULES as Record<string, CellRule>)[kind];
  if (!r) throw new Error(`unknown kind of recurrent cell '${String(kind)}' (known: ${Object.keys(CELL_RULES).join(', ')})`);
  return r;
}

/** The number of gate blocks G of a kind: W_ih has G * H rows. */
export function gateCount(kind: CellKind): number {
  return cellRule(kind).gates.length;
}

/** The parameters a layer of this kind has, given whether it has biases and a projection. */
export function paramSpecs(kind: CellKind, bias: boolean, projection: boolean): ParamSpec[] {
  return cellRule(kind).params.filter((p) => (p.only === 'bias' ? bias : p.only === 'projection' ? projection : true));
}

/**
 * The recurrent layers: PyTorch's RNN, LSTM and GRU with its names, layouts and gate orders, and
 * the cells no library has together (layer-normalised and peephole LSTMs, minGRU, minLSTM), each
 * a few lines over its cell's rule (src/backend/cells.ts) and RecurrentBase.
 *
 * Legend: T steps, B batch, I inputSize, H hiddenSize, P projSize (0 = none), Hout = P || H,
 * L numLayers, D = 2 if bidirectional else 1.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { CELL_RULES, CellKind } from '../backend/cells.js';
import { oneOf } from './options.js';
import { RecurrentBase, type RecurrentOptions, type RecurrentForwardOptions } from './recurrent-base.js';

export { RecurrentBase, layerParamName, type RecurrentOptions, type RecurrentForwardOptions, type LayerActivations } from './recurrent-base.js';
export { LayerStepper, type StepState, type StepperAround } from './stepper.js';

/** Options of `RNN`. */
export interface RNNOptions extends RecurrentOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Options of `LSTM`. */
export interface LSTMOptions extends RecurrentOptions {
  /** Project h to this size with weight_hr (default 0: no projection); must be below hiddenSize. */
  projSize?: number;
  /** The i, f, o gates' nonlinearity: 'sigmoid' (default, PyTorch) or Keras's 'hard_sigmoid' (clip(0.2 x + 0.5, 0, 1)). */
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
}

/** Options of `GRU`. */
export interface GRUOptions extends RecurrentOptions {
  /** The r, z gates' nonlinearity: 'sigmoid' (default, PyTorch) or Keras's 'hard_sigmoid'. */
  recurrentActivation?: 'sigmoid' | 'hard_sigmoid';
  /**
   * true (default, PyTorch and Keras's reset_after=True): n = tanh(Win x + bin + r (Whn h + bhn));
   * false (Keras's reset_after=False): n = tanh(Win x + bin + Whn (r h) + bhn).
   */
  resetAfter?: boolean;
}

/** Options of `LayerNormLSTM`: no `bias` (the layer norms' shifts act as biases). */
export type LayerNormLSTMOptions = Omit<RecurrentOptions, 'bias'>;

/** The state of a layer whose cells carry h and c: [h (L*D, B, Hout), c (L*D, B, H)]. */
export type CellState = readonly [Tensor, Tensor];

/** A layer whose state is h alone: forward returns [output, hN]. */
abstract class HiddenStateLayer extends RecurrentBase {
  /** x (T, B, I) [, h0 (L*D, B, H)] [, { lengths }] -> [output (T, B, D*H), hN (L*D, B, H)] */
  forward(x: Tensor, h0?: Tensor | null, options?: RecurrentForwardOptions): [Tensor, Tensor] {
    const { out, hN } = this.run(x, h0, undefined, options);
    return [out, hN];
  }
}

/** A layer whose cells carry h and c: forward returns [output, [hN, cN]]. */
abstract class CellStateLayer extends RecurrentBase {
  /** x (T, B, I) [, [h0 (L*D, B, Hout), c0 (L*D, B, H)]] [, { lengths }] -> [output (T, B, D*Hout), [hN, cN]] */
  forward(x: Tensor, state?: CellState | null, options?: RecurrentForwardOptions): [Tensor, [Tensor, Tensor]] {
    const { h, c } = this.splitState(state);
    const { out, hN, cN } = this.run(x, h, c, options);
    return [out, [hN, cN!]];
  }
}

/** Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNN extends HiddenStateLayer {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(options: RNNOptions) {
    const nl = oneOf(options?.nonlinearity, ['tanh', 'relu'] as const, 'nonlinearity', 'RNN', 'tanh');
    super('RNN', nl === 'tanh' ? 'rnn_tanh' : 'rnn_relu', options, ['nonlinearity']);
    this.nonlinearity = nl;
  }
}

/**
 * Long short-term memory: i, f, o = sigmoid(.), g = tanh(.) over W_ih x + b_ih + W_hh h + b_hh
 * (gate order i, f, g, o), c' = f c + i g, h' = o tanh(c') (times W_hr with a projection).
 */
export class LSTM extends CellStateLayer {
  constructor(options: LSTMOptions) {
    super('LSTM', 'lstm', options, ['projSize', 'recurrentActivation']);
  }
}

/**
 * Gated recurrent unit (PyTorch's form, gate order r, z, n):
 * r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.
 */
export class GRU extends HiddenStateLayer {
  constructor(options: GRUOptions) {
    super('GRU', 'gru', options, ['recurrentActivation', 'resetAfter']);
  }
}

/**
 * Layer-normalised LSTM, as PyTorch's LayerNormLSTMCell (its benchmarks' custom_lstms.py):
 * gates = LN_i(W_ih x) + LN_h(W_hh h), gate order i, f, g, o; c' = LN_c(f c + i g);
 * h' = o tanh(c'). Parameters weight_ih_l{k}, weight_hh_l{k}, and the norms' gains and shifts
 * layernorm_{i,h,c}_l{k}.{weight,bias} (ones and zeros at first); no other biases.
 */
export class LayerNormLSTM extends CellStateLayer {
  constructor(options: LayerNormLSTMOptions) {
    super('LayerNormLSTM', 'layernorm_lstm', options, []);
  }
}

/**
 * LSTM with peephole connections (Gers & Schmidhuber), as ONNX's LSTM with its P input: i and f
 * see c, o sees c'. PyTorch's LSTM parameters plus weight_ci_l{k}, weight_cf_l{k}, weight_co_l{k} (H).
 */
export class PeepholeLSTM extends CellStateLayer {
  constructor(options: RecurrentOptions) {
    super('PeepholeLSTM', 'peephole_lstm', options, []);
  }
}

/**
 * minGRU (Feng et al. 2024): [k, z] = W_ih x + b_ih, h' = (1 - sigmoid(z)) h + sigmoid(z) g(k),
 * g(k) = k + 0.5 for k >= 0, sigmoid(k) below. No recurrent product: a sequence is one input
 * product and an elementwise scan. Parameters weight_ih_l{k} (2H, I), bias_ih_l{k}.
 */
export class MinGRU extends HiddenStateLayer {
  constructor(options: RecurrentOptions) {
    super('MinGRU', 'mingru', options, []);
  }
}

/**
 * minLSTM (Feng et al. 2024): [k, f, i] = W_ih x + b_ih; with f, i through sigmoid,
 * h' = f / (f + i) h + i / (f + i) g(k). Parameters weight_ih_l{k} (3H, I), bias_ih_l{k}.
 */
export class MinLSTM extends HiddenStateLayer {
  constructor(options: RecurrentOptions) {
    super('MinLSTM', 'minlstm', options, []);
  }
}

/** Every layer class by the kind its SequenceModel config names: the compiler checks each has one. */
export const LAYERS = {
  lstm: LSTM,
  gru: GRU,
  rnn: RNN,
  layernorm_lstm: LayerNormLSTM,
  peephole_lstm: PeepholeLSTM,
  mingru: MinGRU,
  minlstm: MinLSTM,
} as const satisfies Record<(typeof CELL_RULES)[CellKind]['model'], new (options: never) => RecurrentBase>;

/** A kind of layer, as a SequenceModel config and the CLI name it. */
export type LayerKind = keyof typeof LAYERS;

/** Any recurrent layer. */
export type AnyRecurrentLayer = InstanceType<(typeof LAYERS)[LayerKind]>;

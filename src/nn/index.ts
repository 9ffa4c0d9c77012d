export { Module, type LoadStateDictOptions } from './module.js';
export { Linear, Embedding, Dropout, dropout, LayerNorm, layerNormLastDim, type LinearOptions, type EmbeddingOptions, type DropoutOptions, type LayerNormOptions } from './layers.js';
export {
  RNN, LSTM, GRU, LayerNormLSTM, PeepholeLSTM, MinGRU, MinLSTM, LAYERS, RecurrentBase, LayerStepper, layerParamName,
  type StepState, type RecurrentOptions, type RecurrentForwardOptions, type LayerActivations, type RNNOptions, type LSTMOptions, type GRUOptions,
  type LayerNormLSTMOptions, type CellState, type LayerKind, type AnyRecurrentLayer,
} from './rnn.js';
export {
  RNNCell, LSTMCell, GRUCell, LayerNormLSTMCell, PeepholeLSTMCell, MinGRUCell, MinLSTMCell,
  type CellOptions, type RNNCellOptions, type GatedCellOptions, type GRUCellOptions, type LayerNormLSTMCellOptions,
} from './cells.js';
export { crossEntropy, nllLoss, mseLoss, bceWithLogits, type ClassLossOptions, type BceOptions, type Reduction } from './losses.js';
export { SequenceModel, SequenceStepper, type SequenceModelConfig, type RecurrentConfig, type SequenceState } from './sequence-model.js';
export { Sequential, type SequentialStep } from './sequential.js';
export { ctcLoss, ctcGreedyDecode, ctcBeamSearch, ctcBeamHypotheses, type CtcLossOptions, type CtcDecodeOptions, type CtcBeamOptions, type CtcHypothesis, type Lengths } from './ctc.js';
export { MultiheadAttention, BahdanauAttention, type MultiheadAttentionOptions, type MultiheadAttentionForwardOptions, type BahdanauAttentionOptions } from './attention.js';
export { Seq2Seq, type Seq2SeqConfig, type Seq2SeqRecurrent, type Seq2SeqForwardOptions, type Seq2SeqBatch, type DecodeOptions, type Decoded } from './seq2seq.js';

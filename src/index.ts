/**
 * recurrent: RNN, LSTM and GRU for JavaScript with PyTorch's names, layouts and numbers.
 * @packageDocumentation
 */
import './backend/index.js';
import './autograd/index.js';

export {
  Tensor, tensor, zeros, ones, full, zerosLike, onesLike, randn, rand, randint, arange, uniform,
  manualSeed, Generator, defaultGenerator,
} from './tensor/index.js';
export type { DType, FloatArray, TypedArray, Shape, TensorLike, NestedArray, CreateOptions, RandomOptions, GeneratorState, BackwardOptions } from './tensor/index.js';
export { setBackend, backend, listBackends, ready, backendInfo, setNumThreads, setAdaptiveThreads, type BackendInfo, type WasmVariant } from './backend/index.js';
export { registerBackend, referenceBackend } from './backend/index.js';
export type {
  Backend, BackendImplementation, BackendExtensions, CoreKernels, SequenceKernels, OptimizerKernels, GenerationKernels, FloatDType, AdamScalars, RecurrentNeeds,
  RecurrentStepper, StepperExtras, StepResult, GenerateResult, LayerAbove, UnaryOp, BinaryOp, RecurrentKind, RecurrentDims, RecurrentWeights, WeightStamp, RecurrentCache,
  RecurrentForwardResult, RecurrentGrads, CellKind, CtcKernels, CtcBatch, AttentionKernels,
  AttentionDecoderDims, AttentionDecoderWeights, AttentionDecoderResult, AttentionDecoderGrads,
} from './backend/index.js';
export {
  noGrad, isGradEnabled, gradcheck, concat, stack, linear, matmul, softmax, logSoftmax, maskedFill, additiveScores, additiveAttention,
} from './autograd/index.js';
export type { GradcheckOptions, GradcheckResult } from './autograd/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './io/index.js';
export * from './data/index.js';
export * from './train/index.js';
export { VERSION } from './version.js';

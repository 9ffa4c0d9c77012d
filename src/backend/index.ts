import { registerBackend, setBackend as select } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { loadWasmSync, markUserChoice } from './wasm/index.js';

registerBackend(referenceBackend);
loadWasmSync();

/** Selects the backend every later operation runs on ('reference' or 'wasm'). */
export function setBackend(name: string): void {
  select(name);
  markUserChoice();
}

export { registerBackend, resolveBackend, getBackend, backend, listBackends, hasKerasOptions } from './backend.js';
export { CELL_RULES, cellRule, gateCount, paramSpecs, BASE_ROLES, type CellKind, type CellRule, type ParamSpec, type ParamSizes, type OnnxMapping } from './cells.js';
export { drawToken } from './sample.js';
export type {
  Backend, BackendImplementation, BackendExtensions, CoreKernels, SequenceKernels, OptimizerKernels, GenerationKernels, CtcKernels, CtcBatch, AttentionKernels, FloatDType, AdamScalars, RecurrentNeeds,
  RecurrentStepper, StepperExtras, StepResult, GenerateResult, LayerAbove, UnaryOp, BinaryOp, RecurrentKind, RecurrentDims, RecurrentWeights, WeightStamp, RecurrentCache,
  RecurrentForwardResult, RecurrentGrads, AttentionDecoderDims, AttentionDecoderWeights, AttentionDecoderResult, AttentionDecoderGrads,
} from './backend.js';
export { referenceBackend } from './reference/index.js';
export { ready, backendInfo, setNumThreads, setAdaptiveThreads, setWasmPoison, wasmControls, createWasmTestBackend, type BackendInfo, type WasmVariant } from './wasm/index.js';

import { installTensorOps } from '../tensor/tensor.js';
import { backward } from './engine.js';
import { add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, cast, clone, detach, maskedFill } from './ops/elementwise.js';
import { matmul } from './ops/linalg.js';
import { sum, mean, max, argmax } from './ops/reduce.js';
import { reshape, transpose, permute, squeeze, unsqueeze, expand, slice, gather, indexSelect } from './ops/shape.js';
import { softmax, logSoftmax } from './ops/activation.js';

installTensorOps({
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, matmul, sum, mean, max, argmax,
  reshape, transpose, permute, squeeze, unsqueeze, expand, slice, gather, indexSelect, softmax, logSoftmax,
  cast, clone, detach, maskedFill, backward,
});

export { noGrad, isGradEnabled, needsGrad, record, result, backward } from './engine.js';
export type { BackwardRule } from './engine.js';
export { add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, cast, clone, detach, maskedFill } from './ops/elementwise.js';
export { matmul, linear } from './ops/linalg.js';
export { sum, mean, max, argmax } from './ops/reduce.js';
export { reshape, transpose, permute, squeeze, unsqueeze, expand, slice, concat, stack, gather, indexSelect, embeddingLookup } from './ops/shape.js';
export { softmax, logSoftmax } from './ops/activation.js';
export { additiveScores, additiveAttention, checkMask, checkSomeKey } from './ops/attention.js';
export { nllLossOp, crossEntropyOp, bceWithLogitsOp, checkReduction, type Reduction } from './ops/loss.js';
export { recurrentLayer, directionWeights, type DirectionParams } from './recurrent.js';
export { attentionDecoder, type DecoderParams, type DecoderOutputs } from './decoder.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';

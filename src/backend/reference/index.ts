import type { Backend } from '../backend.js';
import { gemm } from './gemm.js';
import { unary, unaryBackward, pow, binary } from './elementwise.js';
import { sumTo, broadcastTo, permute, softmax, softmaxBackward } from './layout.js';
import { recurrentForward, recurrentBackward } from './recurrent.js';

/** The reference backend: plain TypeScript loops, the specification of every fast kernel. */
export const referenceBackend: Backend = {
  name: 'reference',
  gemm,
  unary,
  unaryBackward,
  pow,
  binary,
  sumTo,
  broadcastTo,
  permute,
  softmax,
  softmaxBackward,
  recurrentForward,
  recurrentBackward,
};

import type { FloatArray } from '../../tensor/dtype.js';
import type { Backend, RecurrentDims, RecurrentStepper, RecurrentWeights } from '../backend.js';
import { gemm } from './gemm.js';
import { unary, unaryBackward, pow, binary } from './elementwise.js';
import { sumTo, broadcastTo, permute, softmax, softmaxBackward, logSoftmaxNllBackward } from './layout.js';
import { recurrentForward, recurrentBackward } from './recurrent.js';
import { adamStep } from './optim.js';

/** Steps with copies of the weights through the sequence kernel. */
function recurrentStepper(dims: RecurrentDims, w: RecurrentWeights): RecurrentStepper {
  const copy = { wih: w.wih.slice(), whh: w.whh.slice(), bih: w.bih?.slice() ?? null, bhh: w.bhh?.slice() ?? null, whr: w.whr?.slice() ?? null };
  return {
    run: (x, T, B, h0, c0) => recurrentForward({ ...dims, T, B }, copy, x, h0, c0, false, false),
    dispose: () => undefined,
  };
}

function linearBackward(g: FloatArray, x: FloatArray, w: FloatArray, rows: number, K: number, O: number,
  dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null): void {
  if (dx) gemm(false, false, rows, K, O, g, 0, w, 0, dx, 0, false);
  if (dw) gemm(true, false, O, K, rows, g, 0, x, 0, dw, 0, false);
  if (db) sumTo(g, [rows, O], db, [1, O]);
}

/** The reference backend: plain TypeScript loops, the specification of every fast kernel. */
export const referenceBackend: Backend = {
  name: 'reference',
  gemm,
  linearBackward,
  unary,
  unaryBackward,
  pow,
  binary,
  sumTo,
  broadcastTo,
  permute,
  softmax,
  softmaxBackward,
  logSoftmaxNllBackward,
  recurrentForward,
  recurrentBackward,
  recurrentStepper,
  adamStep,
};

import { Tensor } from '../../tensor/tensor.js';
import { normDim, numel } from '../../tensor/shape.js';
import { result } from '../engine.js';
import { be, alloc, floatData, floatType } from './util.js';

function softmaxImpl(a: Tensor, dim: number, log: boolean): Tensor {
  const who = log ? 'logSoftmax' : 'softmax';
  if (dim === undefined) throw new Error(`${who}: dim is required`);
  const d = normDim(dim, a.ndim, who);
  const outer = numel(a.shape.slice(0, d));
  const n = a.shape[d]!;
  const inner = numel(a.shape.slice(d + 1));
  const dtype = floatType(a);
  const y = alloc(dtype, a.shape);
  be().softmax(floatData(a, dtype), outer, n, inner, y, log);
  return result(who, y, a.shape, [a], (g) => {
    const dx = alloc(dtype, a.shape);
    be().softmaxBackward(y, floatData(g, dtype), outer, n, inner, dx, log);
    return [new Tensor(dx, a.shape)];
  });
}

/** exp(x) / sum(exp(x)) along `dim`, max-shifted for stability. */
export const softmax = (a: Tensor, dim: number): Tensor => softmaxImpl(a, dim, false);
/** log(softmax(x)) along `dim`, computed without forming the softmax. */
export const logSoftmax = (a: Tensor, dim: number): Tensor => softmaxImpl(a, dim, true);

import { Tensor } from '../../tensor/tensor.js';
import { needsGrad, result } from '../engine.js';
import { alloc, be, floatData, floatType } from './util.js';
import type { FloatArray } from '../../tensor/dtype.js';
import type { Reduction } from './loss.js';

/** A CTC batch as `ctcLossOp` takes it, every value checked (see `ctcLoss` in nn). */
export interface CtcArguments {
  targets: Int32Array;
  offsets: Int32Array;
  targetLengths: Int32Array;
  inputLengths: Int32Array;
  blank: number;
  reduction: Reduction;
  zeroInfinity: boolean;
}

/**
 * CTC loss of log-probabilities (T, N, C) as one node. The backend's kernel gives each
 * sample's negative log-likelihood and, when a gradient will be asked for, its gradient with
 * respect to that sample's log-probabilities, in the same pass; backward only scales it by
 * the output gradient and the reduction's weight of the sample.
 */
export function ctcLossOp(logProbs: Tensor, a: CtcArguments, who: string): Tensor {
  const [T, N, C] = logProbs.shape as [number, number, number];
  const dtype = floatType(logProbs);
  const lp = floatData(logProbs, dtype);
  const grad = needsGrad(logProbs) ? alloc(dtype, logProbs.shape) : null;
  const nll = be().ctc({ logProbs: lp, T, N, C, targets: a.targets, offsets: a.offsets, targetLengths: a.targetLengths, inputLengths: a.inputLengths, blank: a.blank }, grad);
  // the weight of each sample's value in the output: 'mean' divides by the target length (at least 1), then by N
  const weight = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    if (a.zeroInfinity && nll[n] === Infinity) nll[n] = 0;
    weight[n] = a.reduction === 'mean' ? 1 / (Math.max(a.targetLengths[n]!, 1) * N) : 1;
  }
  const shape = a.reduction === 'none' ? [N] : [];
  const out = alloc(dtype, shape);
  if (a.reduction === 'none') out.set(nll);
  else {
    let total = 0;
    for (let n = 0; n < N; n++) total += nll[n]! * weight[n]!;
    out[0] = total;
  }
  return result(who, out, shape, [logProbs], (g) => {
    if (!grad) throw new Error(`${who}: backward through a loss computed without gradients`);
    const scales = new Float64Array(N);
    for (let n = 0; n < N; n++) scales[n] = (a.reduction === 'none' ? g.data[n]! : g.data[0]!) * weight[n]!;
    return [new Tensor(scaleSamples(grad, scales, T * N, C), logProbs.shape)];
  });
}

/** out[r, c] = grad[r, c] * scales[r % N] over rows r of (T * N, C): each sample's gradient times its weight. */
function scaleSamples(grad: FloatArray, scales: Float64Array, rows: number, C: number): FloatArray {
  const out = grad instanceof Float64Array ? new Float64Array(grad.length) : new Float32Array(grad.length);
  const N = scales.length;
  for (let r = 0, i = 0; r < rows; r++) {
    const scale = scales[r % N]!;
    for (let end = i + C; i < end; i++) out[i] = grad[i]! * scale;
  }
  return out;
}

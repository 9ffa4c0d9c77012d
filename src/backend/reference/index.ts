import type { FloatArray } from '../../tensor/dtype.js';
import { stepperIds, gatherRows, generateByRuns, resolveBackend, type RecurrentDims, type RecurrentStepper, type RecurrentWeights, type StepperExtras } from '../backend.js';
import { gemm } from './gemm.js';
import { unary, unaryBackward, pow, binary } from './elementwise.js';
import { sumTo, broadcastTo, permute, softmax, softmaxBackward, logSoftmaxNllBackward } from './layout.js';
import { CELL_RULES } from '../cells.js';
import { ALL_RECURRENT_GRADS, type RecurrentForwardResult, type RecurrentGrads, type RecurrentNeeds } from '../backend.js';
import { adamStep } from './optim.js';
import { ctc } from './ctc.js';
import { additiveScores, additiveScoresBackward, gemmBatched, additiveAttention, additiveAttentionBackward } from './attention.js';
import { decoderForward, decoderBackward } from './decoder.js';

/** A zeroed array of n elements of a's type. */
const like = (a: FloatArray, n: number): FloatArray => (a instanceof Float64Array ? new Float64Array(n) : new Float32Array(n));

/**
 * Steps with copies of the weights through the sequence kernel: embedding rows gathered, the
 * head as `linear` computes it (each row starts as the bias, the product accumulates onto it).
 */
/** One direction of a layer over a whole sequence, by the kernels of its cell's rule. */
function recurrentForward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, keepCache: boolean): RecurrentForwardResult {
  return CELL_RULES[dims.kind].forward(dims, w, x, h0, c0, reverse, keepCache);
}

function recurrentBackward(dims: RecurrentDims, w: RecurrentWeights, x: FloatArray, h0: FloatArray, c0: FloatArray | null,
  reverse: boolean, fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null,
  needs: RecurrentNeeds = ALL_RECURRENT_GRADS): RecurrentGrads {
  return CELL_RULES[dims.kind].backward(dims, w, x, h0, c0, reverse, fwd, dOut, dhN, dcN, needs);
}

/** A copy of a direction's weights, every role. */
export function copyWeights(w: RecurrentWeights): RecurrentWeights {
  return {
    wih: w.wih.slice(), whh: w.whh?.slice() ?? null, bih: w.bih?.slice() ?? null, bhh: w.bhh?.slice() ?? null, whr: w.whr?.slice() ?? null,
    ...(w.extra ? { extra: Object.fromEntries(Object.entries(w.extra).map(([k, v]) => [k, v.slice()])) } : {}),
  };
}

function recurrentStepper(dims: RecurrentDims, w: RecurrentWeights, extras: StepperExtras = {}): RecurrentStepper {
  const copy = copyWeights(w);
  const emb = extras.embedding ? { weight: extras.embedding.weight.slice(), V: extras.embedding.V } : null;
  const head = extras.head ? { weight: extras.head.weight.slice(), bias: extras.head.bias?.slice() ?? null, O: extras.head.O } : null;
  const { I } = dims;
  const Hout = dims.P || dims.H;
  const stepper: RecurrentStepper = {
    run(x, T, B, h0, c0, lastOnly = false) {
      const xs = emb ? gatherRows(emb.weight, stepperIds(x, T * B, emb.V), T * B, I) : (x as FloatArray);
      const f = recurrentForward({ ...dims, T, B }, copy, xs, h0, c0, false, false);
      let logits: FloatArray | null = null;
      if (head) {
        const rows = T * B;
        logits = like(f.out, rows * head.O);
        if (head.bias) for (let r = 0; r < rows; r++) logits.set(head.bias, r * head.O);
        gemm(false, true, rows, head.O, Hout, f.out, 0, head.weight, 0, logits, 0, head.bias !== null);
      }
      return { out: lastOnly ? f.hN : f.out, hN: f.hN, cN: f.cN, logits };
    },
    generate(first, n, h0, c0, sample, uniforms, above = []) {
      if (!emb) throw new Error('RecurrentStepper.generate: the stepper needs an embedding');
      return generateByRuns(stepper, first, n, h0, c0, sample, uniforms, above);
    },
    dispose: () => undefined,
  };
  return stepper;
}

function linearBackward(g: FloatArray, x: FloatArray, w: FloatArray, rows: number, K: number, O: number,
  dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null, accumulate = false): void {
  if (dx) gemm(false, false, rows, K, O, g, 0, w, 0, dx, 0, false);
  if (dw) gemm(true, false, O, K, rows, g, 0, x, 0, dw, 0, accumulate);
  if (db) {
    if (!accumulate) return sumTo(g, [rows, O], db, [1, O]);
    // the sum alone first (as sumTo rounds it), then onto what db holds
    const s = like(db, O);
    sumTo(g, [rows, O], s, [1, O]);
    for (let j = 0; j < O; j++) db[j] = db[j]! + s[j]!;
  }
}

/** The reference backend: plain TypeScript loops, the specification of every fast kernel; every extension, every kind of cell. */
export const referenceBackend = resolveBackend({
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
  sequence: { supports: () => true, recurrentForward, recurrentBackward },
  optimizer: { adamStep },
  generation: { supports: () => true, recurrentStepper },
  ctc: { supports: () => true, ctc },
  attention: { supports: () => true, additiveScores, additiveScoresBackward, gemmBatched, additiveAttention, additiveAttentionBackward, decoderForward, decoderBackward },
}, null);

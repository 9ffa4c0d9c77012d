/**
 * A recurrent decoder with additive attention and input feeding over all its steps as one
 * autograd node (the backend's decoderForward and decoderBackward): what Seq2Seq's decoder
 * computes step by step under teacher forcing, without a node, a kernel call and a copy of the
 * keys per op and step.
 *
 * Legend: T steps, N rows, E the step input's width, H hidden (the keys' width), S keys a row.
 */
import { Tensor } from '../tensor/tensor.js';
import { getBackend, type AttentionDecoderDims, type AttentionDecoderWeights, type RecurrentKind } from '../backend/backend.js';
import { needsGrad, record } from './engine.js';
import { floatData, floatType } from './ops/util.js';

/** The decoder's parameters: the cell's (PyTorch's layout), the query's projection, the scores' weights (H values, any shape) and bias (one value). */
export interface DecoderParams {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
  wa: Tensor;
  ba: Tensor | null;
  va: Tensor;
  vb: Tensor | null;
}

/** The decoder's outputs: h of every step (T, N, H), the final state, the attention weights (T, N, S) and contexts (T, N, H). */
export interface DecoderOutputs {
  out: Tensor;
  hN: Tensor;
  cN: Tensor | null;
  weights: Tensor;
  context: Tensor;
}

/**
 * Runs the decoder over x (T, N, E) from h0 (and c0 for an LSTM) (N, H), attending over keys
 * time-major (S, N, H), as an encoder writes them, through their projection pk (S, N, H); mask
 * (N, S): 1 where a key is padding. The caller checks the shapes (Seq2Seq).
 */
export function attentionDecoder(kind: RecurrentKind, x: Tensor, p: DecoderParams, h0: Tensor, c0: Tensor | null,
  keys: Tensor, pk: Tensor, mask: Int32Array | null): DecoderOutputs {
  const [T, N, E] = x.shape as [number, number, number];
  const H = h0.shape[1]!, S = keys.shape[0]!;
  const dtype = floatType(x);
  const d: AttentionDecoderDims = { kind, T, N, E, H, S };
  const w: AttentionDecoderWeights = {
    wih: floatData(p.wih, dtype), whh: floatData(p.whh, dtype), bih: p.bih && floatData(p.bih, dtype), bhh: p.bhh && floatData(p.bhh, dtype),
    wa: floatData(p.wa, dtype), ba: p.ba && floatData(p.ba, dtype), va: floatData(p.va, dtype), vb: p.vb ? p.vb.data[0]! : 0,
  };
  const xd = floatData(x, dtype), h0d = floatData(h0, dtype), c0d = c0 && floatData(c0, dtype), kd = floatData(keys, dtype), pkd = floatData(pk, dtype);
  const params = [p.wih, p.whh, p.bih, p.bhh, p.wa, p.ba, p.va, p.vb];
  const inputs = [x, ...params, h0, c0, keys, pk].filter((t): t is Tensor => t !== null);
  const grad = needsGrad(...inputs);
  const be = getBackend();
  const f = be.decoderForward(d, w, xd, h0d, c0d, kd, pkd, mask, grad);
  const outs: DecoderOutputs = {
    out: new Tensor(f.out, [T, N, H]), hN: new Tensor(f.hN, [N, H]), cN: f.cN ? new Tensor(f.cN, [N, H]) : null,
    weights: new Tensor(f.weights, [T, N, S]), context: new Tensor(f.context, [T, N, H]),
  };
  if (!grad) return outs;
  const outputs = [outs.out, outs.hN, outs.cN, outs.weights, outs.context].filter((t): t is Tensor => t !== null);
  record(`${kind}AttentionDecoder`, inputs, outputs, (gs) => {
    const [gOut, ghN, gcN, gW, gC] = outs.cN ? gs : [gs[0], gs[1], null, gs[2], gs[3]];
    const data = (g: Tensor | null | undefined): Float32Array | Float64Array | null => (g ? floatData(g, dtype) : null);
    const g = be.decoderBackward(d, w, xd, h0d, c0d, kd, pkd, f, data(gOut), data(gC), data(gW), data(ghN), data(gcN));
    const byInput = new Map<Tensor | null, Tensor | null>();
    const put = (t: Tensor | null, a: Float32Array | Float64Array | number | null): void => {
      if (!t || !t.requiresGrad || a === null) return;
      if (typeof a === 'number') {
        const one = dtype === 'float64' ? new Float64Array(1) : new Float32Array(1);
        one[0] = a;
        byInput.set(t, new Tensor(one, t.shape));
      } else byInput.set(t, new Tensor(a, t.shape));
    };
    put(x, g.dx);
    put(p.wih, g.dwih);
    put(p.whh, g.dwhh);
    put(p.bih, g.dbih);
    put(p.bhh, g.dbhh);
    put(p.wa, g.dwa);
    put(p.ba, g.dba);
    put(p.va, g.dva);
    put(p.vb, g.dvb);
    put(h0, g.dh0);
    put(c0, g.dc0);
    put(keys, g.dkeys);
    put(pk, g.dpk);
    return inputs.map((t) => byInput.get(t) ?? null);
  }, () => f.cache?.release?.());
  return outs;
}

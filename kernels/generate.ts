// Generation in one call: tokens drawn step after step through stacked layers, an embedding's
// table of input projections before them and a head after.
//
// Legend: T steps (tokens), H hidden, G gates, GH = G*H, O the head's outputs.
import { gemvPackedCols, NR } from './gemm';
import { vexp } from './vmath';
import { Rec, GenLayer, arg } from './abi';
import { barrier } from './barrier';
import { gatesOf, rowForward } from './gates';
import { recurrentProduct, unitBlock } from './stepping';

/**
 * Generation with a token embedding (a table of input projections) and a head, one sequence,
 * through NL stacked layers of one kind and hidden size: each step's input is the token drawn
 * from the previous step's logits (see Rec.UNIF). Each layer's row splits over threads by hidden
 * units as in stepUnits, with a barrier after each layer; after the top layer's barrier every
 * thread runs the whole head and draws from it, so all of them know the next token with no
 * further barrier (the same sums on the same values: the same token).
 * A layer's record (16 i32): 0 I, 1 packed wih^T (layers above the first), 2 packed whh^T, 3 bih,
 * 4 bhh, 5 h0, 6 c0, 7 h (2 * H floats, double-buffered by step parity), 8 c (the same), 9 the
 * gates row (G * H), 10 the recurrent product (G * H), 11 tanh(c) (H), 12 GRU's hn (H).
 */
export function recurrentGenerate(args: usize, tid: i32): void {
  const kind = arg(args, Rec.KIND), T = arg(args, Rec.T), H = arg(args, Rec.H);
  const nth = arg(args, Rec.NTH), ctrl = <usize>arg(args, Rec.CTRL);
  const ws = <usize>arg(args, Rec.WS) + <usize>tid * arg(args, Rec.WSB);
  const ids = <usize>arg(args, Rec.IDS), table = <usize>arg(args, Rec.TABLE);
  const head = <usize>arg(args, Rec.HEAD), hb = <usize>arg(args, Rec.HEADB), O = arg(args, Rec.O);
  const opad = arg(args, Rec.OPAD);
  const logits = <usize>arg(args, Rec.LOGITS) + <usize>(tid * opad) * 4;
  const unif = <usize>arg(args, Rec.UNIF), temp = reinterpret<f32>(arg(args, Rec.TEMP));
  const layers = <usize>arg(args, Rec.LAYERS), NL = arg(args, Rec.NL);
  const G = gatesOf(kind);
  const GH = G * H;
  const u0 = nth > 1 ? unitBlock(H / NR, tid, nth, 0) * NR : 0;
  const u1 = nth > 1 ? unitBlock(H / NR, tid + 1, nth, 0) * NR : H;
  const cnt = u1 - u0;
  const o = <usize>u0 * 4;
  // the draws' scratch: this thread's row of weights, after every thread's logits
  const wMine = <usize>arg(args, Rec.LOGITS) + <usize>((nth + tid) * opad) * 4;
  let token = arg(args, Rec.FIRST);
  for (let s = 0; s < T; s++) {
    let x: usize = 0; // the layer below's h at this step
    for (let l = 0; l < NL; l++) {
      const rec = layers + <usize>(l * GenLayer.COUNT) * 4;
      const I = arg(rec, GenLayer.I), wih = <usize>arg(rec, GenLayer.WIH), whh = <usize>arg(rec, GenLayer.WHH);
      const bih = <usize>arg(rec, GenLayer.BIH), bhh = <usize>arg(rec, GenLayer.BHH);
      const hBuf = <usize>arg(rec, GenLayer.H), cBuf = <usize>arg(rec, GenLayer.C), gates = <usize>arg(rec, GenLayer.GATES);
      const hh = <usize>arg(rec, GenLayer.HH), tc = <usize>arg(rec, GenLayer.TC), hnBuf = <usize>arg(rec, GenLayer.HN);
      const hp = s == 0 ? <usize>arg(rec, GenLayer.H0) : hBuf + <usize>(((s - 1) & 1) * H) * 4;
      const cp = s == 0 ? <usize>arg(rec, GenLayer.C0) : cBuf + <usize>(((s - 1) & 1) * H) * 4;
      // one thread: whole rows at once (a gate's columns start on a panel only when H % 8 == 0)
      if (nth == 1) gemvPackedCols(hp, whh, H, 0, GH, hh, ws);
      else if (cnt > 0) recurrentProduct(hp, whh, H, G, u0, u1, hh, ws);
      if (l == 0) {
        const src = table + <usize>(token * GH) * 4;
        for (let g = 0; g < G; g++) memory.copy(gates + <usize>(g * H + u0) * 4, src + <usize>(g * H + u0) * 4, <usize>cnt * 4);
      } else if (nth == 1) gemvPackedCols(x, wih, I, 0, GH, gates, ws);
      else for (let g = 0; g < G; g++) gemvPackedCols(x, wih, I, g * H + u0, g * H + u1, gates, ws);
      const hn = hBuf + <usize>((s & 1) * H) * 4;
      const cn = cBuf + <usize>((s & 1) * H) * 4;
      const bi = bih ? bih + o : 0, bh = bhh ? bhh + o : 0;
      if (cnt > 0) {
        rowForward(kind, gates + o, hh + o, bi, bh, hp + o, cp + o, cn + o, tc + o, hnBuf + o, hn + o, H, cnt);
      }
      barrier(ctrl, nth); // the whole h of this layer at this step, every thread's units
      x = hn;
    }
    if (hb) memory.copy(logits, hb, <usize>O * 4);
    gemvPackedCols(x, head, H, 0, O, logits, ws, hb != 0);
    token = drawToken(logits, O, temp, load<f64>(unif + <usize>s * 8), wMine);
    if (tid == 0) store<i32>(ids + <usize>s * 4, token);
  }
}

/**
 * The token drawn from logits (O floats at L) at a temperature, with u uniform in [0, 1): the
 * first largest logit when temp is 0; else token j with probability w_j / sum(w), w_j =
 * exp((L_j - max) / temp), by the walk of src/backend/sample.ts (u times the total, minus each
 * weight in turn until it is not above 0). Weights in float32 (scratch at w), sums in float64.
 */
export function drawToken(L: usize, O: i32, temp: f32, u: f64, w: usize): i32 {
  let best = 0;
  let m = load<f32>(L);
  for (let j = 1; j < O; j++) {
    const v = load<f32>(L + <usize>j * 4);
    if (v > m) {
      m = v;
      best = j;
    }
  }
  if (temp == 0) return best;
  const mv = f32x4.splat(m), tv = f32x4.splat(temp);
  for (let j = 0; j < O; j += 4) v128.store(w + <usize>j * 4, vexp(f32x4.div(f32x4.sub(v128.load(L + <usize>j * 4), mv), tv)));
  let total: f64 = 0;
  for (let j = 0; j < O; j++) total += <f64>load<f32>(w + <usize>j * 4);
  let r = u * total;
  let last = best;
  for (let j = 0; j < O; j++) {
    const wj = <f64>load<f32>(w + <usize>j * 4);
    if (wj == 0) continue;
    last = j;
    r -= wj;
    if (r <= 0) return j;
  }
  return last;
}

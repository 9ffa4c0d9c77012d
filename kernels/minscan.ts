// The scans of minGRU and minLSTM (src/backend/reference/cells/min.ts, which they must match):
// their gates and candidate read x_t only, so after one input product a sequence is this
// elementwise recurrence. One call runs a whole sequence; threads split the batch rows (a row is
// computed whole by one thread, so results do not depend on the thread count).
//
// Legend: T steps, B batch, H hidden, G = 2 (minGRU: k, z) or 3 (minLSTM: k, f, i), GH = G * H.
// Four lanes at a time; ragged tails store only their valid lanes.
import { vsigmoid } from './vmath';
import { Scan, arg } from './abi';
import { ld, st } from './simd';

// The argument slots are Scan's (abi.ts).

/** The largest float32 below 0.5: g(k) for k < 0 stays below it, so g >= 0.5 exactly when k >= 0. */
const BELOW_HALF: f32 = 0.49999997;

/** g(k) = k + 0.5 for k >= 0, sigmoid(k) below. */
// @ts-ignore: decorator
@inline function candidate(k: v128): v128 {
  const s = f32x4.pmin(vsigmoid(k), f32x4.splat(BELOW_HALF));
  return v128.bitselect(f32x4.add(k, f32x4.splat(0.5)), s, f32x4.ge(k, f32x4.splat(0)));
}

/** g'(k) from g(k): 1 for g >= 0.5, g (1 - g) below. */
// @ts-ignore: decorator
@inline function candidateSlope(g: v128): v128 {
  const one = f32x4.splat(1);
  return v128.bitselect(one, f32x4.mul(g, f32x4.sub(one, g)), f32x4.ge(g, f32x4.splat(0.5)));
}

/** Thread tid's batch rows of a whole sequence forward; see the slots above. */
export function minScanForward(args: usize, tid: i32): void {
  const T = arg(args, Scan.T), B = arg(args, Scan.B), H = arg(args, Scan.H);
  const lstm = arg(args, Scan.LSTM) != 0, reverse = arg(args, Scan.REV) != 0;
  const gates = <usize>arg(args, Scan.GATES), bias = <usize>arg(args, Scan.BIAS), h0 = <usize>arg(args, Scan.H0), out = <usize>arg(args, Scan.OUT);
  const nth = arg(args, Scan.NTH);
  const GH = (lstm ? 3 : 2) * H;
  const H4 = <usize>H * 4;
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    for (let b = b0; b < b1; b++) {
      const row = gates + <usize>((t * B + b) * GH) * 4;
      const hp = s == 0 ? h0 + <usize>(b * H) * 4 : out + <usize>((tp * B + b) * H) * 4;
      const h = out + <usize>((t * B + b) * H) * 4;
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = <usize>j * 4;
        let k = ld(row + o), q = ld(row + H4 + o);
        if (bias) {
          k = f32x4.add(k, ld(bias + o));
          q = f32x4.add(q, ld(bias + H4 + o));
        }
        const g = candidate(k);
        const hv = ld(hp + o);
        st(row + o, g, n);
        if (lstm) {
          let ip = ld(row + 2 * H4 + o);
          if (bias) ip = f32x4.add(ip, ld(bias + 2 * H4 + o));
          const f = vsigmoid(q), i = vsigmoid(ip);
          st(row + H4 + o, f, n);
          st(row + 2 * H4 + o, i, n);
          st(h + o, f32x4.div(f32x4.add(f32x4.mul(f, hv), f32x4.mul(i, g)), f32x4.add(f, i)), n);
        } else {
          const z = vsigmoid(q);
          st(row + H4 + o, z, n);
          st(h + o, f32x4.add(hv, f32x4.mul(z, f32x4.sub(g, hv))), n);
        }
      }
    }
  }
}

/** Thread tid's batch rows of the sequence's backward (BPTT of the scan alone); see the slots above. */
export function minScanBackward(args: usize, tid: i32): void {
  const T = arg(args, Scan.T), B = arg(args, Scan.B), H = arg(args, Scan.H);
  const lstm = arg(args, Scan.LSTM) != 0, reverse = arg(args, Scan.REV) != 0;
  const gates = <usize>arg(args, Scan.GATES), h0 = <usize>arg(args, Scan.H0), out = <usize>arg(args, Scan.OUT);
  const dOut = <usize>arg(args, Scan.DOUT), dhBuf = <usize>arg(args, Scan.DH), dA = <usize>arg(args, Scan.DA);
  const nth = arg(args, Scan.NTH);
  const GH = (lstm ? 3 : 2) * H;
  const H4 = <usize>H * 4;
  const b0 = (B * tid) / nth, b1 = (B * (tid + 1)) / nth;
  const one = f32x4.splat(1);
  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    const tp = reverse ? t + 1 : t - 1;
    for (let b = b0; b < b1; b++) {
      const row = gates + <usize>((t * B + b) * GH) * 4;
      const drow = dA + <usize>((t * B + b) * GH) * 4;
      const hp = s == 0 ? h0 + <usize>(b * H) * 4 : out + <usize>((tp * B + b) * H) * 4;
      const dh = dhBuf + <usize>(b * H) * 4;
      const dout = dOut ? dOut + <usize>((t * B + b) * H) * 4 : 0;
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = <usize>j * 4;
        let d = ld(dh + o);
        if (dout) d = f32x4.add(d, ld(dout + o));
        const g = ld(row + o), hv = ld(hp + o);
        if (lstm) {
          const f = ld(row + H4 + o), i = ld(row + 2 * H4 + o);
          const S = f32x4.add(f, i);
          const S2 = f32x4.mul(S, S);
          st(drow + o, f32x4.mul(f32x4.div(f32x4.mul(d, i), S), candidateSlope(g)), n);
          st(drow + H4 + o, f32x4.mul(f32x4.div(f32x4.mul(f32x4.sub(f32x4.mul(d, hv), f32x4.mul(d, g)), i), S2), f32x4.mul(f, f32x4.sub(one, f))), n);
          st(drow + 2 * H4 + o, f32x4.mul(f32x4.div(f32x4.mul(f32x4.sub(f32x4.mul(d, g), f32x4.mul(d, hv)), f), S2), f32x4.mul(i, f32x4.sub(one, i))), n);
          st(dh + o, f32x4.div(f32x4.mul(d, f), S), n);
        } else {
          const z = ld(row + H4 + o);
          st(drow + o, f32x4.mul(f32x4.mul(d, z), candidateSlope(g)), n);
          st(drow + H4 + o, f32x4.mul(f32x4.mul(d, f32x4.sub(g, hv)), f32x4.mul(z, f32x4.sub(one, z))), n);
          st(dh + o, f32x4.mul(d, f32x4.sub(one, z)), n);
        }
      }
    }
  }
}

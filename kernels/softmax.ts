import { Rows, arg } from './abi';
// Softmax and log-softmax over the rows of a contiguous (rows, n) float32 matrix, max-shifted,
// and their gradients given the output y and its gradient g:
//   softmax:     dx = y (g - sum(g y))
//   log-softmax: dx = g - exp(y) sum(g)
import { vexp } from './vmath';

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

export function softmaxRows(x: usize, rows: i32, n: i32, out: usize, log: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>(r * n) * 4;
    const yr = out + <usize>(r * n) * 4;
    // row maximum, four lanes at a time (max passes NaN on, as the scalar max does)
    let mx = f32x4.splat(-Infinity);
    let q = 0;
    for (; q + 4 <= n; q += 4) mx = f32x4.max(mx, v128.load(xr + <usize>q * 4));
    let m: f32 = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (; q < n; q++) m = max(m, load<f32>(xr + <usize>q * 4));
    if (m == -Infinity) m = 0;
    const mv = f32x4.splat(m);
    let s = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const e = vexp(f32x4.sub(v128.load(xr + <usize>j * 4), mv));
      if (!log) v128.store(yr + <usize>j * 4, e);
      s = f32x4.add(s, e);
    }
    let sum = hsum(s);
    for (; j < n; j++) {
      const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(xr + <usize>j * 4) - m)), 0);
      if (!log) store<f32>(yr + <usize>j * 4, e);
      sum += e;
    }
    if (log) {
      const shift = m + Mathf.log(sum);
      const sv = f32x4.splat(shift);
      let k = 0;
      for (; k + 4 <= n; k += 4) v128.store(yr + <usize>k * 4, f32x4.sub(v128.load(xr + <usize>k * 4), sv));
      for (; k < n; k++) store<f32>(yr + <usize>k * 4, load<f32>(xr + <usize>k * 4) - shift);
    } else {
      const inv = f32x4.splat(1 / sum);
      let k = 0;
      for (; k + 4 <= n; k += 4) v128.store(yr + <usize>k * 4, f32x4.mul(v128.load(yr + <usize>k * 4), inv));
      for (; k < n; k++) store<f32>(yr + <usize>k * 4, load<f32>(yr + <usize>k * 4) / sum);
    }
  }
}

export function softmaxRowsBackward(y: usize, g: usize, rows: i32, n: i32, out: usize, log: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>(r * n) * 4;
    // sum(g) (log-softmax) or sum(g y), four lanes at a time
    let acc = f32x4.splat(0);
    let q = 0;
    for (; q + 4 <= n; q += 4) {
      const gv = v128.load(g + o + <usize>q * 4);
      acc = f32x4.add(acc, log ? gv : f32x4.mul(gv, v128.load(y + o + <usize>q * 4)));
    }
    let s: f32 = hsum(acc);
    for (; q < n; q++) s += log ? load<f32>(g + o + <usize>q * 4) : load<f32>(g + o + <usize>q * 4) * load<f32>(y + o + <usize>q * 4);
    const sv = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const p = o + <usize>j * 4;
      const yv = v128.load(y + p), gv = v128.load(g + p);
      v128.store(out + p, log ? f32x4.sub(gv, f32x4.mul(vexp(yv), sv)) : f32x4.mul(yv, f32x4.sub(gv, sv)));
    }
    for (; j < n; j++) {
      const p = o + <usize>j * 4;
      const yv = load<f32>(y + p), gv = load<f32>(g + p);
      store<f32>(out + p, log ? gv - f32x4.extract_lane(vexp(f32x4.splat(yv)), 0) * s : yv * (gv - s));
    }
  }
}

/**
 * Cross-entropy's gradient from the log-softmax lp (rows, n): out[r, c] = coef[r] (exp(lp[r, c])
 * - [c == target[r]]), zero for rows with coef 0 (ignored targets). coef: float32 per row;
 * target: int32 per row.
 */
export function logSoftmaxNllBackward(lp: usize, target: usize, coef: usize, rows: i32, n: i32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>(r * n) * 4;
    const k = load<f32>(coef + <usize>r * 4);
    if (k == 0) {
      memory.fill(out + o, 0, <usize>n * 4);
      continue;
    }
    const kv = f32x4.splat(k);
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(out + o + <usize>j * 4, f32x4.mul(vexp(v128.load(lp + o + <usize>j * 4)), kv));
    for (; j < n; j++) store<f32>(out + o + <usize>j * 4, k * f32x4.extract_lane(vexp(f32x4.splat(load<f32>(lp + o + <usize>j * 4))), 0));
    const t = load<i32>(target + <usize>r * 4);
    if (t >= 0 && t < n) {
      const p = out + o + <usize>t * 4;
      store<f32>(p, k * (f32x4.extract_lane(vexp(f32x4.splat(load<f32>(lp + o + <usize>t * 4))), 0) - 1));
    }
  }
}

/** Thread tid's share of the rows of softmaxRows (OP 0) or softmaxRowsBackward (OP 1); see Rows (abi.ts). */
export function softmaxShare(args: usize, tid: i32): void {
  const rows = arg(args, Rows.ROWS), n = arg(args, Rows.N), nth = arg(args, Rows.NTH), log = arg(args, Rows.LOG);
  const r0 = (rows * tid) / nth, r1 = (rows * (tid + 1)) / nth;
  const off = <usize>(r0 * n) * 4;
  const out = <usize>arg(args, Rows.OUT) + off;
  if (arg(args, Rows.OP) == 0) softmaxRows(<usize>arg(args, Rows.X) + off, r1 - r0, n, out, log);
  else softmaxRowsBackward(<usize>arg(args, Rows.Y) + off, <usize>arg(args, Rows.G) + off, r1 - r0, n, out, log);
}

// Elementwise transcendental functions of float32 arrays, four lanes at a time: op 0 exp,
// 1 tanh, 2 sigmoid. The ragged tail goes through the same four-lane code via a spill.
import { vexp, vtanh, vsigmoid } from './vmath';

// @ts-ignore: decorator
@inline function apply(op: i32, v: v128): v128 {
  return op == 0 ? vexp(v) : op == 1 ? vtanh(v) : vsigmoid(v);
}

export function unaryF32(op: i32, x: usize, out: usize, n: i32, tmp: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + <usize>i * 4, apply(op, v128.load(x + <usize>i * 4)));
  if (i < n) {
    memory.fill(tmp, 0, 16);
    memory.copy(tmp, x + <usize>i * 4, <usize>(n - i) * 4);
    v128.store(tmp, apply(op, v128.load(tmp)));
    memory.copy(out + <usize>i * 4, tmp, <usize>(n - i) * 4);
  }
}

/**
 * out = a op b elementwise over n float32 values (op 0 add, 1 sub, 2 mul, 3 div), the same
 * shape; out may be a. Each result is the correctly rounded float32 one, as the reference's loops
 * give (their float64 result rounded once).
 */
export function binaryF32(op: i32, a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const x = v128.load(a + o), y = v128.load(b + o);
    v128.store(out + o, op == 0 ? f32x4.add(x, y) : op == 1 ? f32x4.sub(x, y) : op == 2 ? f32x4.mul(x, y) : f32x4.div(x, y));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const x = load<f32>(a + o), y = load<f32>(b + o);
    store<f32>(out + o, op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y);
  }
}

/**
 * One Adam/AdamW update of n float32 parameters in place (see the reference backend's adamStep):
 * g' = sg g + l2 p; m = b1 m + c1 g'; v = b2 v + c2 g'^2; p = shrink p - ss m / (sqrt(v) inv + eps).
 * Plain multiplies and adds (no fused multiply-add), so the ragged tail computes exactly as the
 * vector body does.
 */
export function adamF32(p: usize, g: usize, m: usize, v: usize, n: i32,
  b1: f32, c1: f32, b2: f32, c2: f32, ss: f32, inv: f32, eps: f32, sg: f32, l2: f32, shrink: f32): void {
  const B1 = f32x4.splat(b1), C1 = f32x4.splat(c1), B2 = f32x4.splat(b2), C2 = f32x4.splat(c2);
  const SS = f32x4.splat(ss), INV = f32x4.splat(inv), EPS = f32x4.splat(eps), SG = f32x4.splat(sg);
  const L2 = f32x4.splat(l2), SH = f32x4.splat(shrink);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const p0 = v128.load(p + o);
    const gi = f32x4.add(f32x4.mul(SG, v128.load(g + o)), f32x4.mul(L2, p0));
    const mi = f32x4.add(f32x4.mul(B1, v128.load(m + o)), f32x4.mul(C1, gi));
    const vi = f32x4.add(f32x4.mul(B2, v128.load(v + o)), f32x4.mul(f32x4.mul(C2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const den = f32x4.add(f32x4.mul(f32x4.sqrt(vi), INV), EPS);
    v128.store(p + o, f32x4.sub(f32x4.mul(SH, p0), f32x4.mul(SS, f32x4.div(mi, den))));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const p0 = load<f32>(p + o);
    const gi = sg * load<f32>(g + o) + l2 * p0;
    const mi = b1 * load<f32>(m + o) + c1 * gi;
    const vi = b2 * load<f32>(v + o) + c2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, shrink * p0 - ss * (mi / (sqrt<f32>(vi) * inv + eps)));
  }
}

/**
 * Column sums of a contiguous (rows, n) float32 matrix into out (n), accumulated in float64 row
 * after row (the reference's order, so the result is the same); acc: n float64 of scratch.
 */
export function sumRowsF32(x: usize, rows: i32, n: i32, out: usize, acc: usize): void {
  sumRowsRange(x, rows, n, out, acc, 0, n);
}

/** sumRowsF32 for columns j0..j1 only (acc and out indexed by column as in the full sum). */
export function sumRowsRange(x: usize, rows: i32, n: i32, out: usize, acc: usize, j0: i32, j1: i32, add: bool = false): void {
  if (j1 <= j0) return;
  memory.fill(acc + <usize>j0 * 8, 0, <usize>(j1 - j0) * 8);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * n) * 4;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const v = v128.load(row + <usize>j * 4);
      const a = acc + <usize>j * 8;
      v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
      v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3))), 16);
    }
    for (; j < j1; j++) store<f64>(acc + <usize>j * 8, load<f64>(acc + <usize>j * 8) + <f64>load<f32>(row + <usize>j * 4));
  }
  // the sum rounded to float32 first (as the reference's sumTo), then onto what out holds
  if (add) for (let j = j0; j < j1; j++) store<f32>(out + <usize>j * 4, load<f32>(out + <usize>j * 4) + <f32>load<f64>(acc + <usize>j * 8));
  else for (let j = j0; j < j1; j++) store<f32>(out + <usize>j * 4, <f32>load<f64>(acc + <usize>j * 8));
}

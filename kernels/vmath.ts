// Four-lane float32 math for the gate nonlinearities (wasm SIMD has no exp).
// exp: Cephes expf (range reduction by ln 2, degree-6 polynomial), relative error ~1e-7.
// tanh: Eigen's rational approximation (odd degree-13 / even degree-6), relative error < 4e-7.
// Clamps use pmin/pmax, which map to single instructions (min/max must order NaNs, which costs
// several) and still pass NaN through in the operand order used here. 2^n is built from the
// bits of n + 127 + 1.5 * 2^23, avoiding the saturating float-to-int conversion.

/** a * b + c, fused where the runtime has relaxed SIMD. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** min(max(x, lo), hi), NaN passing through */
// @ts-ignore: decorator
@inline function clamp(x: v128, lo: f32, hi: f32): v128 {
  return f32x4.pmax(f32x4.pmin(x, f32x4.splat(hi)), f32x4.splat(lo));
}

// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  x = clamp(x, -87.3365447505, 88.3762626647);
  const fx = f32x4.floor(madd(x, f32x4.splat(1.44269504088896341), f32x4.splat(0.5)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  const z = f32x4.mul(x, x);
  let y = f32x4.splat(1.9875691500e-4);
  y = madd(y, x, f32x4.splat(1.3981999507e-3));
  y = madd(y, x, f32x4.splat(8.3334519073e-3));
  y = madd(y, x, f32x4.splat(4.1665795894e-2));
  y = madd(y, x, f32x4.splat(1.6666665459e-1));
  y = madd(y, x, f32x4.splat(5.0000001201e-1));
  y = f32x4.add(madd(y, z, x), f32x4.splat(1.0));
  // bits of fx + 127 + 1.5 * 2^23 are 0x4B400000 + (fx + 127): shift the exponent into place
  const biased = f32x4.add(fx, f32x4.splat(12583039.0));
  const n = i32x4.shl(i32x4.sub(biased, i32x4.splat(0x4b400000)), 23);
  return f32x4.mul(y, n);
}

// @ts-ignore: decorator
@inline export function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline export function vtanh(a: v128): v128 {
  // tiny |x|: tanh(x) = x to float precision
  return v128.bitselect(a, vtanhGate(a), f32x4.lt(f32x4.abs(a), f32x4.splat(0.0004)));
}

// The gate nonlinearities of the recurrent kernels. A gate's value multiplies a state, so what
// counts there is its absolute error, and both come from one rational: fewer operations and
// constants than exp (the gate math is bound by instruction throughput).

/** tanh without vtanh's tiny-|x| path (there p/q is x to within 1.3e-7 relative). */
// @ts-ignore: decorator
@inline export function vtanhGate(a: v128): v128 {
  const x = clamp(a, -7.99881172180175781, 7.99881172180175781);
  const x2 = f32x4.mul(x, x);
  let p = madd(x2, f32x4.splat(-2.76076847742355e-16), f32x4.splat(2.00018790482477e-13));
  p = madd(x2, p, f32x4.splat(-8.60467152213735e-11));
  p = madd(x2, p, f32x4.splat(5.12229709037114e-8));
  p = madd(x2, p, f32x4.splat(1.48572235717979e-5));
  p = madd(x2, p, f32x4.splat(6.37261928875436e-4));
  p = madd(x2, p, f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(x, p);
  let q = madd(x2, f32x4.splat(1.19825839466702e-6), f32x4.splat(1.18534705686654e-4));
  q = madd(x2, q, f32x4.splat(2.26843463243900e-3));
  q = madd(x2, q, f32x4.splat(4.89352518554385e-3));
  return f32x4.div(p, q);
}

/** sigmoid(x) = tanh(x / 2) / 2 + 1/2: absolute error below 2.5e-7, NaN passing through. */
// @ts-ignore: decorator
@inline export function vsigmoidGate(x: v128): v128 {
  const half = f32x4.splat(0.5);
  return madd(half, vtanhGate(f32x4.mul(x, half)), half);
}

/**
 * exp of two float64 lanes to about 1e-15 relative (range reduction by ln 2 in two parts, then
 * the Taylor series to degree 11 on |r| <= ln 2 / 2), for x <= 0: below -708 (and -Infinity)
 * it is 0, so a probability of zero stays zero.
 */
// @ts-ignore: decorator
@inline export function vexp64neg(a: v128): v128 {
  const x = f64x2.pmax(a, f64x2.splat(-708.0));
  const fx = f64x2.floor(f64x2.add(f64x2.mul(x, f64x2.splat(1.4426950408889634)), f64x2.splat(0.5)));
  let r = f64x2.sub(x, f64x2.mul(fx, f64x2.splat(6.93147180369123816490e-01)));
  r = f64x2.sub(r, f64x2.mul(fx, f64x2.splat(1.90821492927058770002e-10)));
  let p = f64x2.splat(2.505210838544172e-8); // 1/11!
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-7));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.755731922398589e-6));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.388888888888889e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, r), f64x2.splat(1.0));
  // 2^fx from the bits of fx + 1023 + 1.5 * 2^52 (0x4338000000000000 + fx + 1023)
  const biased = f64x2.add(fx, f64x2.splat(6755399441056767.0));
  const scale = i64x2.shl(i64x2.sub(biased, i64x2.splat(0x4338000000000000)), 52);
  return v128.and(f64x2.mul(p, scale), f64x2.gt(a, f64x2.splat(-708.0)));
}

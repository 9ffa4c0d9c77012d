// SIMD helpers the float32 kernels share: four-lane loads and stores (a ragged tail stores only
// its valid lanes), sums of rows and of rows into rows, and a thread's share of columns. Every
// buffer has 16 bytes of slack after it, so 4-lane loads at a row's ragged end stay in bounds.

// @ts-ignore: decorator
@inline export function ld(p: usize): v128 {
  return v128.load(p);
}

/** Stores the first n (1..4) lanes of v at p. */
// @ts-ignore: decorator
@inline export function st(p: usize, v: v128, n: i32): void {
  if (n == 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/**
 * dst[j] = sum over rows of src[r, j], for columns j0..j1 (a multiple-of-4 start); with `add`,
 * that sum is added onto what dst holds.
 */
export function colSum(src: usize, rows: i32, n: i32, dst: usize, j0: i32, j1: i32, add: bool = false): void {
  if (j1 <= j0) return;
  if (add) {
    for (let j = j0; j < j1; j += 4) {
      let s = f32x4.splat(0);
      for (let r = 0; r < rows; r++) s = f32x4.add(s, ld(src + <usize>(r * n + j) * 4));
      st(dst + j * 4, f32x4.add(ld(dst + j * 4), s), min(4, j1 - j));
    }
    return;
  }
  memory.fill(dst + <usize>j0 * 4, 0, <usize>(j1 - j0) * 4);
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>(r * n) * 4;
    for (let j = j0; j < j1; j += 4) st(dst + j * 4, f32x4.add(ld(dst + j * 4), ld(row + j * 4)), min(4, j1 - j));
  }
}

/** Columns of thread tid's share of n, in multiples of 4. */
// @ts-ignore: decorator
@inline export function share4(n: i32, tid: i32, nth: i32): i32 {
  const q = (n + 3) / 4;
  return min(n, ((q * tid) / nth) * 4);
}

export function addInto(dst: usize, src: usize, n: i32): void {
  for (let j = 0; j < n; j += 4) st(dst + j * 4, f32x4.add(ld(dst + j * 4), ld(src + j * 4)), min(4, n - j));
}

/** Adds the first n lanes of v into the floats at p. */
// @ts-ignore: decorator
@inline export function accum(p: usize, v: v128, n: i32): void {
  st(p, f32x4.add(ld(p), v), n);
}

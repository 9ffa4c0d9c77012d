// Single-precision matrix product with 128-bit SIMD, GotoBLAS-style:
//   C (M, N) (+)= op(A) (M, K) @ op(B) (K, N), row-major, byte pointers.
// A is stored (M, K), or (K, M) when transA; B is (K, N), or (N, K) when transB.
// B is packed into panels of NR = 8 columns ([panel][k][8]), A into panels of MR = 6 rows
// ([panel][k][6]; see tileRows for the few that hold four); a 6x8 register tile (12
// accumulators) runs over each K block. Ragged edges are zero-padded in the packs and clipped
// when stored.
import { madd } from './vmath';

export const MR: i32 = 6;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 60;
const NC: i32 = 1024;

/** Packs rows k0..k0+kc and columns j0..j0+nc of op(B) into NR-wide panels at dst ([panel][k][NR]). */
export function packB(b: usize, transB: bool, ldb: i32, k0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const w = min(NR, nc - jp);
    const panel = dst + <usize>(jp * kc) * 4;
    if (!transB) {
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>(k0 + k) * ldb + j0 + jp) * 4;
        const d = panel + <usize>(k * NR) * 4;
        if (w == NR) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let jj = 0; jj < NR; jj++) store<f32>(d + jj * 4, jj < w ? load<f32>(src + jj * 4) : 0);
        }
      }
    } else {
      for (let jj = 0; jj < NR; jj++) {
        if (jj < w) {
          const src = b + (<usize>(j0 + jp + jj) * ldb + k0) * 4;
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * NR + jj) * 4, load<f32>(src + k * 4));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * NR + jj) * 4, 0);
        }
      }
    }
  }
}

/**
 * The rows of the tile that starts at row ip of an mc-row block: MR, except that the last eight
 * rows of a block of 6n + 2 are two tiles of four (a two-row tile costs what a four-row one does,
 * so 6 + 2 would compute ten rows for eight). Each row sums the same in any tile.
 */
// @ts-ignore: decorator
@inline function tileRows(mc: i32, ip: i32): i32 {
  return mc - ip == 8 ? 4 : min(MR, mc - ip);
}

/**
 * Packs rows i0..i0+mc and columns k0..k0+kc of op(A) into MR-high panels at dst ([panel][k][MR]),
 * one panel per tile (tileRows), the rows past a tile's zero.
 */
function packA(a: usize, transA: bool, lda: i32, i0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  let panel = dst;
  for (let ip = 0, h = 0; ip < mc; ip += h, panel += <usize>(MR * kc) * 4) {
    h = tileRows(mc, ip);
    if (transA) {
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>(k0 + k) * lda + i0 + ip) * 4;
        const d = panel + <usize>(k * MR) * 4;
        if (h == MR) {
          v128.store(d, v128.load(src));
          store<u64>(d + 16, load<u64>(src + 16));
        } else if (h == 4) {
          v128.store(d, v128.load(src));
          store<u64>(d + 16, 0);
        } else for (let ii = 0; ii < MR; ii++) store<f32>(d + ii * 4, ii < h ? load<f32>(src + ii * 4) : 0);
      }
    } else {
      let k0v = 0;
      if (h == MR || h == 4) {
        // four k at a time: rows 0-3 transposed in registers, rows 4-5 interleaved (zeros in a
        // 4-row panel)
        const s0 = a + (<usize>(i0 + ip) * lda + k0) * 4;
        const rs = <usize>lda * 4;
        for (; k0v + 4 <= kc; k0v += 4) {
          const o = s0 + <usize>k0v * 4;
          const r0 = v128.load(o), r1 = v128.load(o + rs), r2 = v128.load(o + 2 * rs), r3 = v128.load(o + 3 * rs);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          let p01 = i64x2.splat(0), p23 = i64x2.splat(0);
          if (h == MR) {
            const r4 = v128.load(o + 4 * rs), r5 = v128.load(o + 5 * rs);
            p01 = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5);
            p23 = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
          }
          const d = panel + <usize>(k0v * MR) * 4;
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          store<u64>(d + 16, i64x2.extract_lane(p01, 0));
          v128.store(d + 24, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
          store<u64>(d + 40, i64x2.extract_lane(p01, 1));
          v128.store(d + 48, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
          store<u64>(d + 64, i64x2.extract_lane(p23, 0));
          v128.store(d + 72, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
          store<u64>(d + 88, i64x2.extract_lane(p23, 1));
        }
      }
      for (let ii = 0; ii < MR; ii++) {
        if (ii < h) {
          const src = a + (<usize>(i0 + ip + ii) * lda + k0) * 4;
          for (let k = k0v; k < kc; k++) store<f32>(panel + <usize>(k * MR + ii) * 4, load<f32>(src + k * 4));
        } else {
          for (let k = k0v; k < kc; k++) store<f32>(panel + <usize>(k * MR + ii) * 4, 0);
        }
      }
    }
  }
}

/** One row of a tile: 8 floats at p. */
// @ts-ignore: decorator
@inline function storeTileRow(p: usize, v0: v128, v1: v128): void {
  v128.store(p, v0);
  v128.store(p, v1, 16);
}

// @ts-ignore: decorator
@inline function storeRow(p: usize, v0: v128, v1: v128, nr: i32, acc: bool, tmp: usize): void {
  if (nr == NR) {
    if (acc) {
      v0 = f32x4.add(v0, v128.load(p));
      v1 = f32x4.add(v1, v128.load(p, 16));
    }
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  // ragged: spill the two vectors to the caller's scratch and copy the valid lanes
  v128.store(tmp, v0);
  v128.store(tmp, v1, 16);
  for (let j = 0; j < nr; j++) {
    const x = load<f32>(tmp + j * 4);
    store<f32>(p + j * 4, acc ? load<f32>(p + j * 4) + x : x);
  }
}

/**
 * The 6x8 register tile over kc: out (6 rows of 8, row r at out + r * ld bytes) = Apanel (kc x 6)
 * . Bpanel (kc x 8). Twelve accumulators cover the FMA latency of two pipes; the loop is alone in
 * its function so that nothing else competes for registers. It only stores: adding to C here
 * (loads after the loop) made V8 keep three accumulators on the stack inside it, twice as slow.
 */
export function tile6(ap: usize, bp: usize, kc: i32, out: usize, ld: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(ap, 16);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    a = v128.load32_splat(ap, 20);
    c50 = madd(a, b0, c50);
    c51 = madd(a, b1, c51);
    ap += 24;
    bp += 32;
  }
  // row r at out + r * ld bytes
  storeTileRow(out, c00, c01);
  storeTileRow(out + ld, c10, c11);
  storeTileRow(out + 2 * ld, c20, c21);
  storeTileRow(out + 3 * ld, c30, c31);
  storeTileRow(out + 4 * ld, c40, c41);
  storeTileRow(out + 5 * ld, c50, c51);
}

/** The first four rows of a 6-row panel (for ragged last panels of at most four rows). */
export function tile4(ap: usize, bp: usize, kc: i32, out: usize, ld: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 24;
    bp += 32;
  }
  storeTileRow(out, c00, c01);
  storeTileRow(out + ld, c10, c11);
  storeTileRow(out + 2 * ld, c20, c21);
  storeTileRow(out + 3 * ld, c30, c31);
}

/**
 * C[0..mr, 0..nr] (+)= Apanel (kc x MR) . Bpanel (kc x 8): a whole tile (6 or 4 rows of 8) straight
 * into C, a ragged one through the tile buffer at tmp + 64.
 */
function kernel(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, mr: i32, nr: i32, acc: bool, tmp: usize): void {
  const row = <usize>ldc * 4;
  if (!acc && nr == NR && (mr == MR || mr == 4)) {
    if (mr == MR) tile6(ap, bp, kc, c, row);
    else tile4(ap, bp, kc, c, row);
    return;
  }
  const out = tmp + 64;
  if (mr > 4) tile6(ap, bp, kc, out, 32);
  else tile4(ap, bp, kc, out, 32);
  for (let r = 0; r < mr; r++) storeRow(c + <usize>r * row, v128.load(out + <usize>r * 32), v128.load(out + <usize>r * 32, 16), nr, acc, tmp);
}

/**
 * Runs every tile of one (mc x kc) A block against nc columns of packed B.
 * Panel p of B starts at bp0 + p * panelStride bytes.
 */
function macro(pa: usize, mc: i32, kc: i32, bp0: usize, panelStride: usize, nc: i32, c: usize, ldc: i32, acc: bool, tmp: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const bp = bp0 + <usize>(jp / NR) * panelStride;
    let ap = pa;
    for (let ip = 0, h = 0; ip < mc; ip += h, ap += <usize>(MR * kc) * 4) {
      h = tileRows(mc, ip);
      kernel(ap, bp, kc, c + (<usize>ip * ldc + jp) * 4, ldc, h, min(NR, nc - jp), acc, tmp);
    }
  }
}

/**
 * One row against packed B (full-K panels): c (1, N) (+)= a (1, K) @ Bp. Like the tiles, it sums
 * K in blocks of KC and adds each block's sum to C, so a row comes out the same either way.
 */
function gemv1Packed(a: usize, bp: usize, K: i32, N: i32, c: usize, acc: bool, tmp: usize, rev: bool = false): void {
  const stride = <usize>(K * NR) * 4;
  for (let k0 = 0; k0 < K; k0 += KC) {
    gemv1PackedBlock(a + <usize>k0 * 4, bp + <usize>(k0 * NR) * 4, stride, min(KC, K - k0), N, c, acc || k0 > 0, tmp, rev);
  }
}

/**
 * Four panels of one row's product over K (even) rows: out (32 floats: panel-major, 8 each) =
 * a (1, K) . panels q0, q0 + stride, ... Eight independent accumulators, each summing k in
 * order, as the tiles do. K goes two at a time, each k's value of a splat from memory: with
 * four at a time (one load, four lane shuffles) V8 keeps the four splats in registers for the
 * whole iteration, spills an accumulator and runs 15-20% slower. Alone in its function
 * (exported for that, like the tiles): inlined into its caller, V8 spills the accumulators and
 * it runs 40% slower.
 */
export function gemv4Panels(a: usize, q0: usize, stride: usize, K: i32, out: usize): void {
  let q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride;
  let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
  let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
  for (let k = 0; k < K; k += 2) {
    let x = v128.load32_splat(a + <usize>k * 4);
    s00 = madd(x, v128.load(q0), s00); s01 = madd(x, v128.load(q0, 16), s01);
    s10 = madd(x, v128.load(q1), s10); s11 = madd(x, v128.load(q1, 16), s11);
    s20 = madd(x, v128.load(q2), s20); s21 = madd(x, v128.load(q2, 16), s21);
    s30 = madd(x, v128.load(q3), s30); s31 = madd(x, v128.load(q3, 16), s31);
    x = v128.load32_splat(a + <usize>k * 4, 4);
    s00 = madd(x, v128.load(q0, 32), s00); s01 = madd(x, v128.load(q0, 48), s01);
    s10 = madd(x, v128.load(q1, 32), s10); s11 = madd(x, v128.load(q1, 48), s11);
    s20 = madd(x, v128.load(q2, 32), s20); s21 = madd(x, v128.load(q2, 48), s21);
    s30 = madd(x, v128.load(q3, 32), s30); s31 = madd(x, v128.load(q3, 48), s31);
    q0 += 64; q1 += 64; q2 += 64; q3 += 64;
  }
  v128.store(out, s00); v128.store(out, s01, 16); v128.store(out, s10, 32); v128.store(out, s11, 48);
  v128.store(out, s20, 64); v128.store(out, s21, 80); v128.store(out, s30, 96); v128.store(out, s31, 112);
}

/**
 * The last row (K odd) of gemv4Panels, continuing its sums at out. A second loop in
 * gemv4Panels itself makes V8 move the accumulators around the first one: 40% slower.
 */
export function gemv4PanelsTail(a: usize, q0: usize, stride: usize, K: i32, out: usize): void {
  let q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride;
  let s00 = v128.load(out), s01 = v128.load(out, 16), s10 = v128.load(out, 32), s11 = v128.load(out, 48);
  let s20 = v128.load(out, 64), s21 = v128.load(out, 80), s30 = v128.load(out, 96), s31 = v128.load(out, 112);
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(a + <usize>k * 4);
    s00 = madd(x, v128.load(q0), s00); s01 = madd(x, v128.load(q0, 16), s01);
    s10 = madd(x, v128.load(q1), s10); s11 = madd(x, v128.load(q1, 16), s11);
    s20 = madd(x, v128.load(q2), s20); s21 = madd(x, v128.load(q2, 16), s21);
    s30 = madd(x, v128.load(q3), s30); s31 = madd(x, v128.load(q3, 16), s31);
    q0 += 32; q1 += 32; q2 += 32; q3 += 32;
  }
  v128.store(out, s00); v128.store(out, s01, 16); v128.store(out, s10, 32); v128.store(out, s11, 48);
  v128.store(out, s20, 64); v128.store(out, s21, 80); v128.store(out, s30, 96); v128.store(out, s31, 112);
}

/**
 * gemv1Packed over one block of kc rows of the panels (panel p at bp + p * stride): four panels
 * at a time (gemv4Panels; a 4-row tile would waste three rows), then the last ones singly.
 * rev runs the panels last to first (each column's sum is the same): callers that read the same
 * panels again and again alternate it, so that a pass starts on the panels the previous one
 * read last, which are still in the cache when the whole does not fit.
 */
function gemv1PackedBlock(a: usize, bp: usize, stride: usize, K: i32, N: i32, c: usize, acc: bool, tmp: usize, rev: bool): void {
  const panels = (N + NR - 1) / NR;
  const quads = panels >> 2;
  if (rev) {
    for (let p = panels - 1; p >= quads * 4; p--) gemv1Panel(a, bp, stride, K, N, c, acc, tmp, p);
    for (let p = (quads - 1) * 4; p >= 0; p -= 4) gemv4Group(a, bp, stride, K, N, c, acc, tmp, p);
  } else {
    for (let p = 0; p < quads * 4; p += 4) gemv4Group(a, bp, stride, K, N, c, acc, tmp, p);
    for (let p = quads * 4; p < panels; p++) gemv1Panel(a, bp, stride, K, N, c, acc, tmp, p);
  }
}

/** Panels p..p+3 of gemv1PackedBlock. */
function gemv4Group(a: usize, bp: usize, stride: usize, K: i32, N: i32, c: usize, acc: bool, tmp: usize, p: i32): void {
  const out = tmp + 64;
  const K2 = K & ~1;
  const q = bp + <usize>p * stride;
  gemv4Panels(a, q, stride, K2, out);
  if (K2 < K) gemv4PanelsTail(a + <usize>K2 * 4, q + <usize>K2 * 32, stride, K - K2, out);
  for (let i = 0; i < 4; i++) {
    const j = (p + i) * NR;
    storeRow(c + <usize>j * 4, v128.load(out + <usize>i * 32), v128.load(out + <usize>i * 32, 16), min(NR, N - j), acc, tmp);
  }
}

/** Panel p of gemv1PackedBlock alone. */
function gemv1Panel(a: usize, bp: usize, stride: usize, K: i32, N: i32, c: usize, acc: bool, tmp: usize, p: i32): void {
  let q = bp + <usize>p * stride;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const x = v128.load32_splat(a + <usize>k * 4);
    s0 = madd(x, v128.load(q), s0);
    s1 = madd(x, v128.load(q, 16), s1);
    q += 32;
  }
  storeRow(c + <usize>(p * NR) * 4, s0, s1, min(NR, N - p * NR), acc, tmp);
}

/**
 * Columns j0..j1 of one row against a full-K pack (j0 a multiple of NR): c[j0..j1) (+)= a (1, K) @
 * Bp[:, j0..j1), c indexed by column as in the whole row; ws: this thread's scratch; rev: the
 * panels last to first (see gemv1PackedBlock).
 */
export function gemvPackedCols(a: usize, bp: usize, K: i32, j0: i32, j1: i32, c: usize, ws: usize, acc: bool = false, rev: bool = false): void {
  if (j1 <= j0) return;
  gemv1Packed(a, bp + <usize>((j0 / NR) * K * NR) * 4, K, j1 - j0, c + <usize>j0 * 4, acc, (ws + 15) & ~15, rev);
}

/**
 * Rows of A against columns j0..j1 of a full-K pack (j0 a multiple of NR): C[:, j0..j1) = A (M, K)
 * @ Bp[:, j0..j1) (with `accumulate`, added to what C holds), A's rows lda apart and C's ldc apart
 * (both in elements), indexed by column as in the whole product. Sums as gemvPackedCols does row
 * by row (K in blocks of KC, each k in order), so a thread's columns of many rows come out as one
 * row at a time would; the panels are read once per MC rows instead of once per row.
 */
export function gemmPackedCols(M: i32, a: usize, lda: i32, bp: usize, K: i32, j0: i32, j1: i32, c: usize, ldc: i32, ws: usize, accumulate: bool = false): void {
  if (M <= 0 || j1 <= j0) return;
  if (M == 1) {
    gemvPackedCols(a, bp, K, j0, j1, c, ws, accumulate);
    return;
  }
  packedTiles(false, M, a, lda, bp, K, j0, j1, c, ldc, accumulate, (ws + 15) & ~15);
}

/**
 * The tiles of a product against a full-K pack: rows of op(A) (M, K) against columns j0..j1 (j0
 * a multiple of NR) into C (row stride ldc, indexed by column as in the whole product), K in
 * blocks of KC, A packed MC rows at a time; with `accumulate`, onto what C holds.
 */
function packedTiles(transA: bool, M: i32, a: usize, lda: i32, bp: usize, K: i32, j0: i32, j1: i32, c: usize, ldc: i32, accumulate: bool, tmp: usize): void {
  const pa = tmp + 256;
  const b0 = bp + <usize>((j0 / NR) * K * NR) * 4;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = min(MC, M - i0);
      packA(a, transA, lda, i0, mc, k0, kc, pa);
      macro(pa, mc, kc, b0 + <usize>(k0 * NR) * 4, <usize>(K * NR) * 4, j1 - j0, c + (<usize>i0 * ldc + j0) * 4, ldc, accumulate || k0 > 0, tmp);
    }
  }
}

/**
 * Few columns (N <= 4) of transA products (the weight gradients of narrow layers): an 8-wide tile
 * would waste most of its lanes, so each column is a vector product instead, row updates over
 * A's stored rows. B's columns go through `buf` when strided. (Products of A as stored take the
 * tiles whatever their width: a row's sums must not depend on how many rows come with it.)
 */
function gemmSkinny(transB: bool, M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool, buf: usize): void {
  // columns of op(B), contiguous: bcol(n)[k]
  let bc = b;
  let bstride = <usize>ldb * 4;
  if (!transB) {
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) store<f32>(buf + <usize>(n * K + k) * 4, load<f32>(b + <usize>(k * ldb + n) * 4));
    bc = buf;
    bstride = <usize>K * 4;
  }
  // transA: op(A) row i is stored column i; C[:, n] = sum_k A[k, :] * bcol(n)[k], accumulated in
  // buf. Every element, the ragged last lanes too, takes the same fused multiply-add: a thread's
  // share of rows starts anywhere, so an element must not sum differently at a share's end. The
  // lanes past M read A's next elements (or its slack) and land in the column's padding.
  const acc = buf + <usize>(N * K) * 4;
  const Mpad = (M + 3) & ~3;
  for (let n = 0; n < N; n++) {
    const cn = acc + <usize>(n * Mpad) * 4;
    memory.fill(cn, 0, <usize>Mpad * 4);
    const col = bc + <usize>n * bstride;
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(col + <usize>k * 4);
      const row = a + <usize>(k * lda) * 4;
      for (let i = 0; i < M; i += 4) v128.store(cn + <usize>i * 4, madd(x, v128.load(row + <usize>i * 4), v128.load(cn + <usize>i * 4)));
    }
    for (let i = 0; i < M; i++) {
      const dst = c + <usize>(i * ldc + n) * 4;
      const v = load<f32>(cn + <usize>i * 4);
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

function zeroC(c: usize, M: i32, N: i32, ldc: i32): void {
  for (let i = 0; i < M; i++) memory.fill(c + <usize>(i * ldc) * 4, 0, <usize>N * 4);
}

/** Bytes of workspace one thread's `gemm` needs. */
export function gemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC) * 4 + 320;
}

const SKINNY: i32 = 2;

/**
 * The special path a whole product (M, N, K) takes: SKINNY for a transA product of at most four
 * columns (0: the tiles). Decided on the whole product and handed to every thread's share, so
 * that a share sums as the one-thread product does. Every product of A as stored takes the tiles,
 * one row included: each element then sums k in order, in blocks of KC, whatever the rows around
 * it (a batch split differently, one row alone) and as the packed one-row products do.
 */
export function shortcuts(transA: bool, M: i32, N: i32, K: i32): i32 {
  if (transA && N <= 4 && <i64>N * K + <i64>N * ((M + 3) & ~3) <= <i64>(MC * KC + KC * NC)) return SKINNY;
  return 0;
}

/**
 * C (+)= op(A) op(B) with leading dimensions (row strides, in elements) lda, ldb, ldc;
 * ws: gemmWorkspaceBytes() of this thread's scratch; mode: shortcuts() of the whole product.
 */
export function gemmLd(transA: bool, transB: bool, M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32,
  c: usize, ldc: i32, accumulate: bool, ws: usize, mode: i32): void {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (!accumulate) zeroC(c, M, N, ldc);
    return;
  }
  const tmp = (ws + 15) & ~15;
  const pa = tmp + 256;
  if (mode == SKINNY) {
    gemmSkinny(transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, pa);
    return;
  }
  const pb = pa + <usize>(MC * KC) * 4;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      packB(b, transB, ldb, k0, kc, j0, nc, pb);
      const acc = accumulate || k0 > 0;
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = min(MC, M - i0);
        packA(a, transA, lda, i0, mc, k0, kc, pa);
        macro(pa, mc, kc, pb, <usize>(kc * NR) * 4, nc, c + (<usize>i0 * ldc + j0) * 4, ldc, acc, tmp);
      }
    }
  }
}

/** Contiguous C (M, N) (+)= op(A) op(B). */
export function gemm(transA: bool, transB: bool, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: bool, ws: usize): void {
  gemmLd(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, accumulate, ws, shortcuts(transA, M, N, K));
}

/**
 * Thread `tid` of `nth`'s share of a contiguous gemm: a range of column panels, or of rows when
 * there are too few columns. Each element of C is computed whole by one thread, in the same
 * order as with one thread, so results do not depend on the thread count.
 */
export function gemmShare(transA: bool, transB: bool, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: bool,
  ws: usize, tid: i32, nth: i32): void {
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const mode = shortcuts(transA, M, N, K);
  if (nth == 1) {
    gemmLd(transA, transB, M, N, K, a, lda, b, ldb, c, N, accumulate, ws, mode);
    return;
  }
  // columns or rows, whichever leaves the busiest thread the less work (columns on a tie): its
  // tiles, and what it packs. A share of columns packs all of op(A) and its part of op(B); a
  // share of rows its part of op(A) and all of op(B). A packed element costs about as much as
  // four multiply-adds of a tile (a tile's 48 a k): for dW = dA^T h over many steps, with op(A)
  // far larger than op(B), rows pack half as much for the same tiles.
  const panels = (N + NR - 1) / NR;
  const blocks = (M + MR - 1) / MR;
  const myPanels = <i64>((panels + nth - 1) / nth), myBlocks = <i64>((blocks + nth - 1) / nth);
  // per k: a tile's multiply-adds, and the elements packed (weighted 4)
  const byCols = myPanels * blocks * MR * NR + 4 * (M + myPanels * NR);
  const byRows = myBlocks * panels * MR * NR + 4 * (myBlocks * MR + N);
  if (byCols <= byRows) {
    const p0 = (panels * tid) / nth, p1 = (panels * (tid + 1)) / nth;
    const j0 = p0 * NR, j1 = min(N, p1 * NR);
    if (j1 <= j0) return;
    const boff = transB ? <usize>j0 * ldb : <usize>j0;
    gemmLd(transA, transB, M, j1 - j0, K, a, lda, b + boff * 4, ldb, c + <usize>j0 * 4, N, accumulate, ws, mode);
  } else {
    const i0 = ((blocks * tid) / nth) * MR, i1 = min(M, ((blocks * (tid + 1)) / nth) * MR);
    if (i1 <= i0) return;
    const aoff = transA ? <usize>i0 : <usize>i0 * lda;
    gemmLd(transA, transB, i1 - i0, N, K, a + aoff * 4, lda, b, ldb, c + <usize>i0 * N * 4, N, accumulate, ws, mode);
  }
}

/** Bytes of a whole op(B) (K, N) packed by `packBFull`. */
export function packedBytes(K: i32, N: i32): usize {
  return <usize>(K * ((N + NR - 1) / NR) * NR) * 4;
}

/** Packs this thread's share of the column panels of op(B) (K, N), for repeated products against it. */
export function packBShare(b: usize, transB: bool, K: i32, N: i32, dst: usize, tid: i32, nth: i32): void {
  packBShareLd(b, transB, transB ? K : N, K, N, dst, tid, nth);
}

/** packBShare of a B whose rows lie ldb floats apart (a block of columns of a wider matrix). */
export function packBShareLd(b: usize, transB: bool, ldb: i32, K: i32, N: i32, dst: usize, tid: i32, nth: i32): void {
  const panels = (N + NR - 1) / NR;
  const p0 = (panels * tid) / nth, p1 = (panels * (tid + 1)) / nth;
  if (p1 <= p0) return;
  const j0 = p0 * NR;
  // a full-K pack puts panel p at p * K * NR floats: pack the share's panels in place
  packB(b, transB, ldb, 0, K, j0, min(N, p1 * NR) - j0, dst + <usize>(j0 * K) * 4);
}

/** C (M, N) (+)= op(A) @ Bp (ldc = N), with Bp a full-K pack of op(B) (K, N); ws: this thread's scratch. */
export function gemmPacked(transA: bool, M: i32, N: i32, K: i32, a: usize, lda: i32, bp: usize, c: usize, accumulate: bool, ws: usize): void {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (!accumulate) zeroC(c, M, N, N);
    return;
  }
  const tmp = (ws + 15) & ~15;
  if (M == 1 && !transA) {
    gemv1Packed(a, bp, K, N, c, accumulate, tmp);
    return;
  }
  packedTiles(transA, M, a, lda, bp, K, 0, N, c, N, accumulate, tmp);
}

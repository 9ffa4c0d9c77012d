// Single-precision matrix product with 128-bit SIMD, GotoBLAS-style:
//   C (M, N) (+)= op(A) (M, K) @ op(B) (K, N), row-major, byte pointers.
// A is stored (M, K), or (K, M) when transA; B is (K, N), or (N, K) when transB.
// B is packed into panels of NR = 8 columns ([panel][k][8]), A into panels of MR = 4 rows
// ([panel][k][4]); a 4x8 register tile (8 accumulators) runs over each K block. Ragged edges
// are zero-padded in the packs and clipped when stored.
import { madd } from './vmath';

export const MR: i32 = 4;
export const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 64;
const NC: i32 = 1024;

/** Bytes of workspace `gemm` needs. */
export function gemmWorkspaceBytes(): i32 {
  return (MC * KC + KC * NC) * 4 + 64;
}

/** Packs rows k0..k0+kc and columns j0..j0+nc of op(B) into NR-wide panels at dst ([panel][k][NR]). */
export function packB(b: usize, transB: bool, K: i32, N: i32, k0: i32, kc: i32, j0: i32, nc: i32, dst: usize): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const w = min(NR, nc - jp);
    const panel = dst + <usize>(jp * kc) * 4;
    if (!transB) {
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>(k0 + k) * N + j0 + jp) * 4;
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
          const src = b + (<usize>(j0 + jp + jj) * K + k0) * 4;
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * NR + jj) * 4, load<f32>(src + k * 4));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * NR + jj) * 4, 0);
        }
      }
    }
  }
}

/** Packs rows i0..i0+mc and columns k0..k0+kc of op(A) into MR-high panels at dst ([panel][k][MR]). */
function packA(a: usize, transA: bool, M: i32, K: i32, i0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  for (let ip = 0; ip < mc; ip += MR) {
    const h = min(MR, mc - ip);
    const panel = dst + <usize>(ip * kc) * 4;
    if (transA) {
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>(k0 + k) * M + i0 + ip) * 4;
        const d = panel + <usize>(k * MR) * 4;
        if (h == MR) v128.store(d, v128.load(src));
        else for (let ii = 0; ii < MR; ii++) store<f32>(d + ii * 4, ii < h ? load<f32>(src + ii * 4) : 0);
      }
    } else {
      for (let ii = 0; ii < MR; ii++) {
        if (ii < h) {
          const src = a + (<usize>(i0 + ip + ii) * K + k0) * 4;
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * MR + ii) * 4, load<f32>(src + k * 4));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(panel + <usize>(k * MR + ii) * 4, 0);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(p: usize, v0: v128, v1: v128, nr: i32, acc: bool): void {
  if (nr == NR) {
    if (acc) {
      v0 = f32x4.add(v0, v128.load(p));
      v1 = f32x4.add(v1, v128.load(p, 16));
    }
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  // ragged: spill the two vectors and copy the valid lanes
  const tmp = memory.data(32, 16);
  v128.store(tmp, v0);
  v128.store(tmp, v1, 16);
  for (let j = 0; j < nr; j++) {
    const x = load<f32>(tmp + j * 4);
    store<f32>(p + j * 4, acc ? load<f32>(p + j * 4) + x : x);
  }
}

/** The 4x8 register tile over kc: C[0..mr, 0..nr] (+)= Apanel (kc x 4) . Bpanel (kc x 8). */
function kernel(ap: usize, bp: usize, kc: i32, c: usize, ldc: i32, mr: i32, nr: i32, acc: bool): void {
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
    ap += 16;
    bp += 32;
  }
  const row = <usize>ldc * 4;
  storeRow(c, c00, c01, nr, acc);
  if (mr > 1) storeRow(c + row, c10, c11, nr, acc);
  if (mr > 2) storeRow(c + 2 * row, c20, c21, nr, acc);
  if (mr > 3) storeRow(c + 3 * row, c30, c31, nr, acc);
}

/**
 * Runs every tile of one (mc x kc) A block against nc columns of packed B.
 * Panel p of B starts at bp0 + p * panelStride bytes.
 */
function macro(pa: usize, mc: i32, kc: i32, bp0: usize, panelStride: usize, nc: i32, c: usize, ldc: i32, acc: bool): void {
  for (let jp = 0; jp < nc; jp += NR) {
    const bp = bp0 + <usize>(jp / NR) * panelStride;
    for (let ip = 0; ip < mc; ip += MR) {
      kernel(pa + <usize>(ip * kc) * 4, bp, kc, c + (<usize>ip * ldc + jp) * 4, ldc, min(MR, mc - ip), min(NR, nc - jp), acc);
    }
  }
}

function zeroC(c: usize, M: i32, N: i32): void {
  memory.fill(c, 0, <usize>M * N * 4);
}

/** C (+)= op(A) op(B); ws: gemmWorkspaceBytes() of scratch. */
export function gemm(transA: bool, transB: bool, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: bool, ws: usize): void {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) zeroC(c, M, N);
    return;
  }
  const pa = (ws + 15) & ~15;
  const pb = pa + <usize>(MC * KC) * 4;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = min(KC, K - k0);
      packB(b, transB, K, N, k0, kc, j0, nc, pb);
      const acc = accumulate || k0 > 0;
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = min(MC, M - i0);
        packA(a, transA, M, K, i0, mc, k0, kc, pa);
        macro(pa, mc, kc, pb, <usize>(kc * NR) * 4, nc, c + (<usize>i0 * N + j0) * 4, N, acc);
      }
    }
  }
}

/** Bytes of a whole op(B) (K, N) packed by `packBFull`. */
export function packedBytes(K: i32, N: i32): usize {
  return <usize>(K * ((N + NR - 1) / NR) * NR) * 4;
}

/** Packs all of op(B) (K, N) once, for repeated products against it (the recurrent weights). */
export function packBFull(b: usize, transB: bool, K: i32, N: i32, dst: usize): void {
  packB(b, transB, K, N, 0, K, 0, N, dst);
}

/** C (+)= op(A) @ Bp, with Bp from packBFull(K, N); ws: MC * KC floats of scratch. */
export function gemmPacked(transA: bool, M: i32, N: i32, K: i32, a: usize, bp: usize, c: usize, accumulate: bool, ws: usize): void {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) zeroC(c, M, N);
    return;
  }
  const pa = (ws + 15) & ~15;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const acc = accumulate || k0 > 0;
    for (let i0 = 0; i0 < M; i0 += MC) {
      const mc = min(MC, M - i0);
      packA(a, transA, M, K, i0, mc, k0, kc, pa);
      macro(pa, mc, kc, bp + <usize>(k0 * NR) * 4, <usize>(K * NR) * 4, N, c + <usize>i0 * N * 4, N, acc);
    }
  }
}

// The WebAssembly kernels of the `wasm` backend. Memory is managed from JavaScript, starting
// at heapBase(); every pointer argument is a byte address in this module's memory. Kernels that
// take `tid` run as one of several threads over shared memory (see forward.ts).
export { gemmWorkspaceBytes, packedBytes } from './gemm';
// The register tiles are exported only so that Binaryen does not inline them into their one
// caller: alone in a function, their twelve accumulators stay in registers (inlined, V8 spills).
export { tile6 as gemmTile6, tile4 as gemmTile4, gemv4Panels, gemv4PanelsTail } from './gemm';
export { recurrentForward } from './forward';
export { recurrentBackward } from './backward';
export { recurrentGenerate } from './generate';
export { setMayWait } from './barrier';
export { minScanForward, minScanBackward } from './minscan';
export { variantForward, variantBackward, variantAccFloats } from './variants';
export { ctcLoss, ctcWorkspaceBytes } from './ctc';
export { additiveScores, additiveScoresBackward, additiveAttention, additiveAttentionBackward } from './attention';
export { decoderForward, decoderBackward } from './decoder';
// the gate math of one batch row, exported for the same reason as the tiles
export { lstmRowForward, gruRowForward, rnnRowForward, lstmRowBackward, gruRowBackward, rnnRowBackward } from './gates';
import { gemm as gemmWhole, gemmShare, gemmWorkspaceBytes, packBShare, gemmPacked, MR } from './gemm';
import { sumRowsRange } from './elementwise';
import { Linear, Packed, Batched, arg } from './abi';

/**
 * Thread tid of nth: C (M, N) (+)= op(A) op(B), its share of the output (see gemm.ts).
 * ws: the workspaces of all threads, gemmWorkspaceBytes() each.
 */
export function gemm(transA: i32, transB: i32, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, ws: usize, tid: i32, nth: i32): void {
  gemmShare(transA != 0, transB != 0, M, N, K, a, b, c, accumulate != 0, ws + <usize>tid * gemmWorkspaceBytes(), tid, nth);
}

/** The first byte JavaScript may allocate from. */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Thread tid's rows (whole blocks of MR) of C (M, N) (+)= A (M, K) @ Bp, Bp a full pack of B
 * (K, N) (pack()), from its argument block (Packed, abi.ts): each row sums as it would alone,
 * so results do not depend on the thread count.
 */
export function gemmPrepackedShare(args: usize, tid: i32): void {
  const M = arg(args, Packed.M), N = arg(args, Packed.N), K = arg(args, Packed.K), nth = arg(args, Packed.NTH);
  const blocks = (M + MR - 1) / MR;
  const i0 = ((blocks * tid) / nth) * MR, i1 = min(M, ((blocks * (tid + 1)) / nth) * MR);
  if (i1 <= i0) return;
  const a = <usize>arg(args, Packed.A) + <usize>(i0 * K) * 4, c = <usize>arg(args, Packed.C) + <usize>(i0 * N) * 4;
  const ws = <usize>arg(args, Packed.WS) + <usize>tid * <usize>arg(args, Packed.WSB);
  gemmPacked(false, i1 - i0, N, K, a, K, <usize>arg(args, Packed.BP), c, arg(args, Packed.ACC) != 0, ws);
}

/**
 * Thread tid's share of a batch of products (Batched, abi.ts): whole products, each computed as
 * one gemm of its own would compute it, so results depend neither on the thread count nor on the
 * products beside it.
 */
export function gemmBatched(args: usize, tid: i32): void {
  const nb = <i64>arg(args, Batched.BATCH), nth = <i64>arg(args, Batched.NTH);
  const i0 = <i32>((nb * tid) / nth), i1 = <i32>((nb * (tid + 1)) / nth);
  const M = arg(args, Batched.M), N = arg(args, Batched.N), K = arg(args, Batched.K);
  const ta = arg(args, Batched.TA) != 0, tb = arg(args, Batched.TB) != 0;
  const a = <usize>arg(args, Batched.A), b = <usize>arg(args, Batched.B), c = <usize>arg(args, Batched.C);
  const ws = <usize>arg(args, Batched.WS) + <usize>tid * <usize>arg(args, Batched.WSB);
  const sa = <usize>M * <usize>K * 4, sb = <usize>K * <usize>N * 4, sc = <usize>M * <usize>N * 4;
  for (let i = i0; i < i1; i++) gemmWhole(ta, tb, M, N, K, a + <usize>i * sa, b + <usize>i * sb, c + <usize>i * sc, false, ws);
}

/** Packs all of op(B) (K, N) at dst (packedBytes(K, N) bytes) for gemmPacked and prepacked kernels. */
export function pack(b: usize, transB: i32, K: i32, N: i32, dst: usize): void {
  packBShare(b, transB != 0, K, N, dst, 0, 1);
}
export { softmaxRows, softmaxRowsBackward, logSoftmaxNllBackward, softmaxShare } from './softmax';
export { unaryF32, binaryF32, adamF32, sumRowsF32 } from './elementwise';

/**
 * Thread tid's share of a linear layer's backward from its argument block (Linear, abi.ts).
 * Each output element is computed whole by one thread.
 */
export function linearBackward(args: usize, tid: i32): void {
  const rows = arg(args, Linear.ROWS), K = arg(args, Linear.K), O = arg(args, Linear.O);
  const g = <usize>arg(args, Linear.G), x = <usize>arg(args, Linear.X), w = <usize>arg(args, Linear.W);
  const dx = <usize>arg(args, Linear.DX), dw = <usize>arg(args, Linear.DW), db = <usize>arg(args, Linear.DB);
  const ws = <usize>arg(args, Linear.WS) + <usize>tid * <usize>arg(args, Linear.WSB);
  const acc = <usize>arg(args, Linear.ACC), nth = arg(args, Linear.NTH), add = arg(args, Linear.ADD) != 0;
  if (dx) gemmShare(false, false, rows, K, O, g, w, dx, false, ws, tid, nth);
  if (dw) gemmShare(true, false, O, K, rows, g, x, dw, add, ws, tid, nth);
  if (db) {
    const j0 = (O * tid) / nth, j1 = (O * (tid + 1)) / nth;
    sumRowsRange(g, rows, O, db, acc, j0, j1, add);
  }
}


// The WebAssembly kernels of the `wasm` backend. Memory is managed from JavaScript, starting
// at heapBase(); every pointer argument is a byte address in this module's memory. Kernels that
// take `tid` run as one of several threads over shared memory (see recurrent.ts).
export { gemmWorkspaceBytes, packedBytes } from './gemm';
// The register tiles are exported only so that Binaryen does not inline them into their one
// caller: alone in a function, their twelve accumulators stay in registers (inlined, V8 spills).
export { tile6 as gemmTile6, tile4 as gemmTile4, gemv4Panels, gemv4PanelsTail } from './gemm';
export { recurrentForward, recurrentBackward, recurrentGenerate, setMayWait } from './recurrent';
export { minScanForward, minScanBackward } from './minscan';
// the gate math of one batch row, exported for the same reason as the tiles
export { lstmRowForward, gruRowForward, rnnRowForward, lstmRowBackward, gruRowBackward, rnnRowBackward } from './recurrent';
import { gemmShare, gemmWorkspaceBytes, packBShare } from './gemm';
import { sumRowsRange } from './elementwise';

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

/** Packs all of op(B) (K, N) at dst (packedBytes(K, N) bytes) for gemmPacked and prepacked kernels. */
export function pack(b: usize, transB: i32, K: i32, N: i32, dst: usize): void {
  packBShare(b, transB != 0, K, N, dst, 0, 1);
}
export { softmaxRows, softmaxRowsBackward, logSoftmaxNllBackward } from './softmax';
export { unaryF32, adamF32, sumRowsF32 } from './elementwise';

/**
 * Thread tid's share of a linear layer's backward from one argument block of i32 slots:
 * [rows, K, O, g, x, w, dx, dw, db, ws, wsBytes, acc, nth]: dx (rows, K) = g (rows, O) @ w (O, K),
 * dw (O, K) = g^T @ x (rows, K), db (O) = the column sums of g (float64 scratch acc, O doubles);
 * a zero pointer skips that output. Each output element is computed whole by one thread.
 */
export function linearBackward(args: usize, tid: i32): void {
  const rows = load<i32>(args), K = load<i32>(args, 4), O = load<i32>(args, 8);
  const g = <usize>load<i32>(args, 12), x = <usize>load<i32>(args, 16), w = <usize>load<i32>(args, 20);
  const dx = <usize>load<i32>(args, 24), dw = <usize>load<i32>(args, 28), db = <usize>load<i32>(args, 32);
  const ws = <usize>load<i32>(args, 36) + <usize>tid * <usize>load<i32>(args, 40);
  const acc = <usize>load<i32>(args, 44), nth = load<i32>(args, 48);
  if (dx) gemmShare(false, false, rows, K, O, g, w, dx, false, ws, tid, nth);
  if (dw) gemmShare(true, false, O, K, rows, g, x, dw, false, ws, tid, nth);
  if (db) {
    const j0 = (O * tid) / nth, j1 = (O * (tid + 1)) / nth;
    sumRowsRange(g, rows, O, db, acc, j0, j1);
  }
}

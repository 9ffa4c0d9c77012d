// The WebAssembly kernels of the `wasm` backend. Memory is managed from JavaScript, starting
// at heapBase(); every pointer argument is a byte address in this module's memory.
export { gemmWorkspaceBytes, packedBytes } from './gemm';
export { recurrentForward, recurrentBackward } from './recurrent';
import { gemm as gemmImpl } from './gemm';

/** C (M, N) (+)= op(A) op(B); see gemm.ts. */
export function gemm(transA: i32, transB: i32, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, accumulate: i32, ws: usize): void {
  gemmImpl(transA != 0, transB != 0, M, N, K, a, b, c, accumulate != 0, ws);
}

/** The first byte JavaScript may allocate from. */
export function heapBase(): usize {
  return __heap_base;
}

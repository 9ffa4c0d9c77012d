/**
 * The wasm backend's core tensor kernels: float32 matrix products (one thread or the pool), a
 * linear layer's backward, and the row-wise ops of training (softmax, the cross-entropy
 * gradient, bias sums, a few unary functions, same-shape arithmetic). Float64, and arrays too small to pay for the copy,
 * take the reference loops.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import { shapeEquals, type Shape } from '../../tensor/shape.js';
import { leadingSumWidth, type BinaryOp, type CoreKernels, type UnaryOp, type WeightStamp } from '../backend.js';
import { referenceBackend as ref } from '../reference/index.js';
import { Linear, Packed, Rows, block } from './abi.js';
import { bucket, f32, type WasmContext } from './context.js';

/** Unary ops with a wasm kernel (others, and small arrays, stay on the reference loops). */
const WASM_UNARY: Partial<Record<UnaryOp, number>> = { exp: 0, tanh: 1, sigmoid: 2 };
const UNARY_MIN = 4096;
const WASM_BINARY: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };
/** The core kernels this backend runs itself (the others are the reference's). */
export function coreKernels(ctx: WasmContext): Pick<CoreKernels, 'gemm' | 'linearBackward' | 'unary' | 'binary' | 'sumTo' | 'softmax' | 'softmaxBackward' | 'logSoftmaxNllBackward'> {
  const { k, heap, choose, launch, threadsFor, wsBytes, guarded, prepared } = ctx;

  function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: FloatArray, aOff: number, b: FloatArray, bOff: number, c: FloatArray, cOff: number, accumulate: boolean, bStamp?: WeightStamp): void {
    if (!f32(a, b, c)) return ref.gemm(transA, transB, M, N, K, a, aOff, b, bOff, c, cOff, accumulate);
    // a layer's weight (x @ w^T): packed once and kept between calls until it changes, so the
    // calls of one version (a decoder's steps, a head's) neither copy nor pack it again; the
    // rows split between threads where the product pays for them. Every row sums as the tiles
    // do, so as it would alone, in any batch and on any thread count.
    if (bStamp && transB && !transA && bOff === 0 && b.length === N * K) {
      const bp = prepared.rightOperand(bStamp, b as Float32Array, K, N); // first: preparing may use the scratch
      heap.reset();
      const pa = heap.put((a as Float32Array).subarray(aOff, aOff + M * K));
      const pc = accumulate ? heap.put((c as Float32Array).subarray(cOff, cOff + M * N)) : heap.alloc(M * N * 4);
      // (one thread is timed too: the chooser compares the two)
      const { nth, meter } = M > 1 ? choose(`gemmPrepacked:${bucket(M * N * K)}`, threadsFor(M * N * K)) : { nth: 1, meter: undefined };
      const ws = heap.alloc(wsBytes * nth);
      const args = heap.args(block(Packed, { M, N, K, A: pa, BP: bp, C: pc, ACC: +accumulate, WS: ws, WSB: wsBytes, NTH: nth }));
      launch(nth, 'gemmPrepackedShare', [args], () => k.gemmPrepackedShare(args, 0), meter);
      c.set(heap.f32(pc, M * N), cOff);
      return;
    }
    heap.reset();
    const pa = heap.put((a as Float32Array).subarray(aOff, aOff + M * K));
    const pb = heap.put((b as Float32Array).subarray(bOff, bOff + K * N));
    const pc = accumulate ? heap.put((c as Float32Array).subarray(cOff, cOff + M * N)) : heap.alloc(M * N * 4);
    const { nth, meter } = choose(`gemm:${bucket(M * N * K)}`, threadsFor(M * N * K));
    const ws = heap.alloc(wsBytes * nth);
    const args = [+transA, +transB, M, N, K, pa, pb, pc, +accumulate, ws];
    launch(nth, 'gemm', args, (n) => k.gemm(+transA, +transB, M, N, K, pa, pb, pc, +accumulate, ws, 0, n), meter);
    c.set(heap.f32(pc, M * N), cOff);
  }

  function linearBackward(g: FloatArray, x: FloatArray, w: FloatArray, rows: number, K: number, O: number,
    dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null, accumulate = false): void {
    if (!f32(g, x, w, dx, dw, db)) return ref.linearBackward(g, x, w, rows, K, O, dx, dw, db, accumulate);
    heap.reset();
    const pg = heap.put((g as Float32Array).subarray(0, rows * O));
    const px = dw ? heap.put((x as Float32Array).subarray(0, rows * K)) : 0;
    const pw = dx ? heap.put((w as Float32Array).subarray(0, O * K)) : 0;
    const pdx = dx ? heap.alloc(rows * K * 4) : 0;
    const into = (a: FloatArray | null, n: number): number => (!a ? 0 : accumulate ? heap.put((a as Float32Array).subarray(0, n)) : heap.alloc(n * 4));
    const pdw = into(dw, O * K);
    const pdb = into(db, O);
    const { nth, meter } = choose(`linearBackward:${bucket(rows * O * K)}`, threadsFor(rows * O * K));
    const ws = heap.alloc(wsBytes * nth);
    const args = heap.args(block(Linear, { ROWS: rows, K, O, G: pg, X: px, W: pw, DX: pdx, DW: pdw, DB: pdb, WS: ws, WSB: wsBytes, ACC: heap.alloc(O * 8), NTH: nth, ADD: +accumulate }));
    launch(nth, 'linearBackward', [args], () => k.linearBackward(args, 0), meter);
    if (dx) dx.set(heap.f32(pdx, rows * K));
    if (dw) dw.set(heap.f32(pdw, O * K));
    if (db) db.set(heap.f32(pdb, O));
  }

  function unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
    const code = WASM_UNARY[op];
    if (code === undefined || x.length < UNARY_MIN || !f32(x, out)) return ref.unary(op, x, out);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(x.length * 4);
    k.unaryF32(code, px, po, x.length, heap.alloc(16));
    out.set(heap.f32(po, x.length));
  }

  /** Same-shape float32 operands in the kernel (where the copies in and out cost less than the loop saves); the rest on the reference's loops. */
  function binary(op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void {
    const n = out.length;
    if (n < UNARY_MIN || a.length !== n || b.length !== n || !shapeEquals(aShape, bShape) || !f32(a, b, out)) return ref.binary(op, a, aShape, b, bShape, out, outShape);
    heap.reset();
    const pa = heap.put(a as Float32Array);
    const pb = heap.put(b as Float32Array);
    k.binaryF32(WASM_BINARY[op], pa, pb, pa, n);
    out.set(heap.f32(pa, n));
  }

  function logSoftmaxNllBackward(lp: FloatArray, target: Int32Array, coef: Float64Array, rows: number, n: number, out: FloatArray): void {
    if (rows * n < UNARY_MIN || !f32(lp, out)) return ref.logSoftmaxNllBackward(lp, target, coef, rows, n, out);
    heap.reset();
    const pl = heap.put(lp as Float32Array);
    const pt = heap.putI32(target.subarray(0, rows));
    const pc = heap.alloc(rows * 4);
    heap.f32(pc, rows).set(coef.subarray(0, rows));
    const po = heap.alloc(rows * n * 4);
    k.logSoftmaxNllBackward(pl, pt, pc, rows, n, po);
    out.set(heap.f32(po, rows * n));
  }

  function sumTo(x: FloatArray, xShape: Shape, out: FloatArray, outShape: Shape): void {
    // the common case (bias gradients): leading dimensions summed into a trailing row
    const n = leadingSumWidth(xShape, outShape);
    if (n === 0 || x.length < UNARY_MIN || !f32(x, out)) return ref.sumTo(x, xShape, out, outShape);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(n * 4);
    k.sumRowsF32(px, x.length / n, n, po, heap.alloc(n * 8));
    out.set(heap.f32(po, n));
  }

  /** Softmax rows forward (op 0) or backward (op 1), the rows split between threads where that is measured faster. */
  function rows(op: 0 | 1, x: number, y: number, g: number, out: number, outer: number, n: number, log: boolean): void {
    // about ten operations an element (the exponential's polynomial)
    const work = outer * n * 10;
    const { nth, meter } = choose(`softmax${op ? 'Backward' : ''}:${bucket(work)}`, Math.min(outer, threadsFor(work)));
    if (meter) meter.work = work;
    const args = heap.args(block(Rows, { OP: op, X: x, Y: y, G: g, OUT: out, ROWS: outer, N: n, LOG: +log, NTH: nth }));
    launch(nth, 'softmaxShare', [args], () => k.softmaxShare(args, 0), meter);
  }

  function softmax(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
    if (inner !== 1 || !f32(x, out)) return ref.softmax(x, outer, n, inner, out, log);
    heap.reset();
    const px = heap.put(x as Float32Array);
    const po = heap.alloc(x.length * 4);
    rows(0, px, 0, 0, po, outer, n, log);
    out.set(heap.f32(po, x.length));
  }

  function softmaxBackward(y: FloatArray, g: FloatArray, outer: number, n: number, inner: number, out: FloatArray, log: boolean): void {
    if (inner !== 1 || !f32(y, g, out)) return ref.softmaxBackward(y, g, outer, n, inner, out, log);
    heap.reset();
    const py = heap.put(y as Float32Array);
    const pg = heap.put(g as Float32Array);
    const po = heap.alloc(y.length * 4);
    rows(1, 0, py, pg, po, outer, n, log);
    out.set(heap.f32(po, y.length));
  }

  return {
    gemm: guarded(gemm), linearBackward: guarded(linearBackward), unary: guarded(unary), binary: guarded(binary), sumTo: guarded(sumTo), softmax: guarded(softmax),
    softmaxBackward: guarded(softmaxBackward), logSoftmaxNllBackward: guarded(logSoftmaxNllBackward),
  };
}

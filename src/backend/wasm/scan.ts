/**
 * minGRU and minLSTM: the input projection as one product, then the scan (kernels/minscan.ts),
 * in one frame of the kernels' memory; backward is the scan's, then the projection's gradients
 * as a linear layer's (dx = dA @ W_ih, dW_ih = dA^T x, db = dA summed over rows).
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from '../backend.js';
import { Scan, Linear, block } from './abi.js';
import { bucket, type WasmContext } from './context.js';

interface ScanCache extends RecurrentCache {
  /** (T, B, GH) the activated g(k), z / f, i */
  gates: Float32Array;
}

/** The scans' forward and backward, over the backend's context. */
export function scanKernels(ctx: WasmContext) {
  const { k, heap, choose, launch, threadsFor, rowThreads, wsBytes, name } = ctx;

  function scanForward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, reverse: boolean, keepCache: boolean): RecurrentForwardResult {
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const TB = T * B;
    heap.reset();
    const pg = ctx.inputProjection(x, w.wih as Float32Array, TB, GH, I);
    const pout = heap.alloc(TB * H * 4);
    const slots = new Array<number>(Scan.COUNT).fill(0);
    const { nth, meter } = choose(`minScanForward:${bucket(B * GH)}:${bucket(T)}`, rowThreads(T, B, B * GH * 8));
    if (meter) meter.work = TB * GH;
    slots[Scan.T] = T; slots[Scan.B] = B; slots[Scan.H] = H; slots[Scan.LSTM] = +lstm; slots[Scan.REV] = +reverse;
    slots[Scan.GATES] = pg; slots[Scan.BIAS] = w.bih ? heap.put(w.bih as Float32Array) : 0; slots[Scan.H0] = heap.put(h0); slots[Scan.OUT] = pout; slots[Scan.NTH] = nth;
    const args = heap.args(slots);
    launch(nth, 'minScanForward', [args], () => k.minScanForward(args, 0), meter);
    const out = heap.take(pout, TB * H);
    const last = reverse ? 0 : T - 1;
    const cache: ScanCache | null = keepCache ? { backend: name, gates: heap.take(pg, TB * GH) } : null;
    return { out, hN: out.slice(last * B * H, (last + 1) * B * H), cN: null, cache };
  }

  function scanBackward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, reverse: boolean, fwd: RecurrentForwardResult,
    dOut: FloatArray | null, dhN: FloatArray | null, needs: RecurrentNeeds): RecurrentGrads {
    const { T, B, I, H } = dims;
    const lstm = dims.kind === 'minlstm';
    const GH = (lstm ? 3 : 2) * H;
    const TB = T * B;
    const cache = fwd.cache as ScanCache;
    heap.reset();
    const pdA = heap.alloc(TB * GH * 4);
    const pdh = dhN ? heap.put(dhN as Float32Array) : heap.zeros(B * H);
    const slots = new Array<number>(Scan.COUNT).fill(0);
    const { nth, meter } = choose(`minScanBackward:${bucket(B * GH)}:${bucket(T)}`, rowThreads(T, B, B * GH * 8));
    if (meter) meter.work = TB * GH;
    slots[Scan.T] = T; slots[Scan.B] = B; slots[Scan.H] = H; slots[Scan.LSTM] = +lstm; slots[Scan.REV] = +reverse;
    slots[Scan.GATES] = heap.put(cache.gates); slots[Scan.H0] = heap.put(h0); slots[Scan.OUT] = heap.put(fwd.out as Float32Array);
    slots[Scan.DOUT] = dOut ? heap.put(dOut as Float32Array) : 0; slots[Scan.DH] = pdh; slots[Scan.DA] = pdA; slots[Scan.NTH] = nth;
    const args = heap.args(slots);
    launch(nth, 'minScanBackward', [args], () => k.minScanBackward(args, 0), meter);
    // the input projection's gradients: a linear layer's backward with g = dA (TB, GH), x (TB, I), W_ih (GH, I)
    const params = needs.params;
    const px = params ? heap.put(x) : 0;
    const pw = needs.input ? heap.put(w.wih as Float32Array) : 0;
    const pdx = needs.input ? heap.alloc(TB * I * 4) : 0;
    const pdw = params ? heap.alloc(GH * I * 4) : 0;
    const pdb = params && w.bih ? heap.alloc(GH * 4) : 0;
    const lin = choose(`linearBackward:${bucket(TB * GH * I)}`, threadsFor(TB * GH * I));
    const lws = heap.alloc(wsBytes * lin.nth);
    const largs = heap.args(block(Linear, { ROWS: TB, K: I, O: GH, G: pdA, X: px, W: pw, DX: pdx, DW: pdw, DB: pdb, WS: lws, WSB: wsBytes, ACC: heap.alloc(GH * 8), NTH: lin.nth }));
    launch(lin.nth, 'linearBackward', [largs], () => k.linearBackward(largs, 0), lin.meter);
    return {
      dx: pdx ? heap.take(pdx, TB * I) : null, dh0: heap.take(pdh, B * H), dc0: null,
      dwih: pdw ? heap.take(pdw, GH * I) : null, dwhh: null, dbih: pdb ? heap.take(pdb, GH) : null, dbhh: null, dwhr: null, dextra: null,
    };
  }

  return { forward: scanForward, backward: scanBackward };
}

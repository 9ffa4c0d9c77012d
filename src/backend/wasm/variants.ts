/**
 * The wasm backend's layer-normalised and peephole LSTMs: the input projection as one product,
 * then the whole sequence in one kernel call (kernels/variants.ts), each thread running its own
 * batch rows; backward is that kernel's BPTT, then the weights' gradients as linear layers'
 * (dx and dW_ih from the input side's gate gradients, dW_hh from the recurrent side's and every
 * step's h_{t-1}), and the norms' or peepholes' gradients summed over the rows in a fixed order.
 *
 * Legend: T steps, B batch, I input, H hidden, GH = 4H.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { RecurrentCache, RecurrentDims, RecurrentForwardResult, RecurrentGrads, RecurrentNeeds, RecurrentWeights } from '../backend.js';
import { Variant, VariantKind, Linear, block } from './abi.js';
import { bucket, type WasmContext } from './context.js';

/** The kinds of cell these kernels run. */
export const VARIANT_KIND: Partial<Record<RecurrentDims['kind'], number>> = { layernorm_lstm: VariantKind.LAYERNORM, peephole_lstm: VariantKind.PEEPHOLE };

/** The extra parameters' roles, in the order of a row's sums in the kernel (Variant.ACC), with their lengths. */
const EXTRA_ROLES: Record<number, [string, (H: number) => number][]> = {
  [VariantKind.LAYERNORM]: [['lni_w', (H) => 4 * H], ['lni_b', (H) => 4 * H], ['lnh_w', (H) => 4 * H], ['lnh_b', (H) => 4 * H], ['lnc_w', (H) => H], ['lnc_b', (H) => H]],
  [VariantKind.PEEPHOLE]: [['wci', (H) => H], ['wcf', (H) => H], ['wco', (H) => H]],
};

interface VariantCache extends RecurrentCache {
  /** what backward reads, by Variant's slot names */
  saved: Partial<Record<'C' | 'TC' | 'GATES' | 'NX' | 'RX' | 'NH' | 'RH' | 'NC' | 'RC', Float32Array>>;
}

/** The forward and backward of the LSTM variants, over the backend's context. */
export function variantKernels(ctx: WasmContext) {
  const { k, heap, choose, launch, threadsFor, rowThreads, wsBytes, putOr0, ctrl, name } = ctx;
  const extra = (w: RecurrentWeights, role: string): Float32Array => {
    const a = w.extra?.[role];
    if (!a) throw new Error(`recurrentForward: the weights have no '${role}'`);
    return a as Float32Array;
  };

  /** The slots both directions of the kernel read: sizes, W_hh, the extra parameters, c0, the threads. */
  function common(dims: RecurrentDims, w: RecurrentWeights, c0: Float32Array, reverse: boolean, kernel: string) {
    const { T, B, H } = dims;
    const kind = VARIANT_KIND[dims.kind]!;
    const GH = 4 * H;
    const stepWork = B * GH * H;
    const { nth, meter } = choose(`${kernel}:${dims.kind}:${bucket(stepWork)}:${bucket(T)}`, rowThreads(T, B, stepWork));
    if (meter) meter.work = T * stepWork;
    const values: Partial<Record<keyof typeof Variant, number>> = {
      KIND: kind, T, B, H, REV: +reverse,
      WHH: heap.put(w.whh as Float32Array), WPACK: heap.alloc(Math.max(k.packedBytes(H, GH), k.packedBytes(GH, H))),
      C0: heap.put(c0), NTH: nth, CTRL: ctrl, WS: heap.alloc(wsBytes * nth), WSB: wsBytes,
    };
    if (kind === VariantKind.PEEPHOLE) {
      Object.assign(values, { BIH: putOr0(w.bih), BHH: putOr0(w.bhh), WCI: heap.put(extra(w, 'wci')), WCF: heap.put(extra(w, 'wcf')), WCO: heap.put(extra(w, 'wco')) });
    } else {
      Object.assign(values, {
        LNI_W: heap.put(extra(w, 'lni_w')), LNI_B: heap.put(extra(w, 'lni_b')), LNH_W: heap.put(extra(w, 'lnh_w')),
        LNH_B: heap.put(extra(w, 'lnh_b')), LNC_W: heap.put(extra(w, 'lnc_w')), LNC_B: heap.put(extra(w, 'lnc_b')),
      });
    }
    return { values, kind, nth, meter };
  }

  /** Thread-chosen launch of the Linear kernel: dx = g @ w, dw = g^T @ x, db = g's column sums (a zero pointer skips one). */
  function linear(rows: number, K: number, O: number, g: number, x: number, w: number, dx: number, dw: number, db: number): void {
    const lin = choose(`linearBackward:${bucket(rows * O * K)}`, threadsFor(rows * O * K));
    const ws = heap.alloc(wsBytes * lin.nth);
    const args = heap.args(block(Linear, { ROWS: rows, K, O, G: g, X: x, W: w, DX: dx, DW: dw, DB: db, WS: ws, WSB: wsBytes, ACC: heap.alloc(O * 8), NTH: lin.nth }));
    launch(lin.nth, 'linearBackward', [args], () => k.linearBackward(args, 0), lin.meter);
  }

  function forward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, c0: Float32Array, reverse: boolean, keepCache: boolean): RecurrentForwardResult {
    const { T, B, I, H } = dims;
    const GH = 4 * H;
    const TB = T * B;
    heap.reset();
    // the input projection of every step at once
    const pax = ctx.inputProjection(x, w.wih as Float32Array, TB, GH, I);
    const { values, kind, nth, meter } = common(dims, w, c0, reverse, 'variantForward');
    const layerNorm = kind === VariantKind.LAYERNORM;
    const sizes = {
      OUT: TB * H, C: TB * H, TC: TB * H, GATES: TB * GH,
      ...(layerNorm ? { NX: TB * GH, RX: TB, NH: TB * GH, RH: TB, NC: TB * H, RC: TB } : {}),
    } as Record<string, number>;
    for (const [slot, n] of Object.entries(sizes)) (values as Record<string, number>)[slot] = heap.alloc(n * 4);
    Object.assign(values, { AX: pax, H0: heap.put(h0), HH: heap.alloc(B * GH * 4) });
    const args = heap.args(block(Variant, values));
    launch(nth, 'variantForward', [args], () => k.variantForward(args, 0), meter);
    const at = (slot: string): number => (values as Record<string, number>)[slot]!;
    const out = heap.take(at('OUT'), TB * H);
    const last = reverse ? 0 : T - 1;
    const hN = out.slice(last * B * H, (last + 1) * B * H);
    const cN = heap.take(at('C') + last * B * H * 4, B * H);
    let cache: VariantCache | null = null;
    if (keepCache) {
      const saved: VariantCache['saved'] = {};
      for (const slot of Object.keys(sizes)) if (slot !== 'OUT') saved[slot as keyof VariantCache['saved']] = heap.take(at(slot), sizes[slot]!);
      cache = { backend: name, saved };
    }
    return { out, hN, cN, cache };
  }

  function backward(dims: RecurrentDims, w: RecurrentWeights, x: Float32Array, h0: Float32Array, c0: Float32Array, reverse: boolean,
    fwd: RecurrentForwardResult, dOut: FloatArray | null, dhN: FloatArray | null, dcN: FloatArray | null, needs: RecurrentNeeds): RecurrentGrads {
    const { T, B, I, H } = dims;
    const GH = 4 * H;
    const TB = T * B;
    const cache = fwd.cache as VariantCache;
    heap.reset();
    const { values, kind, nth, meter } = common(dims, w, c0, reverse, 'variantBackward');
    const layerNorm = kind === VariantKind.LAYERNORM;
    for (const [slot, a] of Object.entries(cache.saved)) (values as Record<string, number>)[slot] = heap.put(a);
    const accFloats = k.variantAccFloats(kind, H);
    const scrBytes = ((6 * H + 16) * 4 + 15) & ~15;
    Object.assign(values, {
      DOUT: putOr0(dOut), DH: dhN ? heap.put(dhN as Float32Array) : heap.zeros(B * H), DC: dcN ? heap.put(dcN as Float32Array) : heap.zeros(B * H),
      DAX: heap.alloc(TB * GH * 4), DAH: layerNorm ? heap.alloc(TB * GH * 4) : 0,
      ACC: heap.alloc(B * accFloats * 4), SCR: heap.alloc(scrBytes * nth), SCRB: scrBytes,
    });
    const args = heap.args(block(Variant, values));
    launch(nth, 'variantBackward', [args], () => k.variantBackward(args, 0), meter);
    const at = (slot: keyof typeof Variant): number => values[slot]!;
    const dh0 = heap.take(at('DH'), B * H);
    const dc0 = heap.take(at('DC'), B * H);
    // the products' gradients: the input side's dA with x and W_ih, the recurrent side's with every step's h_{t-1}
    const params = needs.params;
    const pdx = needs.input ? heap.alloc(TB * I * 4) : 0;
    const pdwih = params ? heap.alloc(GH * I * 4) : 0;
    const pdbih = params && w.bih ? heap.alloc(GH * 4) : 0;
    linear(TB, I, GH, at('DAX'), params ? heap.put(x) : 0, needs.input ? heap.put(w.wih as Float32Array) : 0, pdx, pdwih, pdbih);
    let dwhh: Float32Array | null = null;
    let dbhh: Float32Array | null = null;
    const dextra: Record<string, Float32Array> = {};
    if (params) {
      const hPrev = new Float32Array(TB * H);
      const out = fwd.out as Float32Array;
      for (let t = 0; t < T; t++) {
        const first = reverse ? t === T - 1 : t === 0;
        const src = (reverse ? t + 1 : t - 1) * B * H;
        hPrev.set(first ? h0.subarray(0, B * H) : out.subarray(src, src + B * H), t * B * H);
      }
      const pdwhh = heap.alloc(GH * H * 4);
      const pdbhh = w.bhh ? heap.alloc(GH * 4) : 0;
      linear(TB, H, GH, layerNorm ? at('DAH') : at('DAX'), heap.put(hPrev), 0, 0, pdwhh, pdbhh);
      dwhh = heap.take(pdwhh, GH * H);
      dbhh = pdbhh ? heap.take(pdbhh, GH) : null;
      // each row's sums, added over the rows in order: the same for any thread count
      const acc = heap.f32(at('ACC'), B * accFloats);
      let off = 0;
      for (const [role, len] of EXTRA_ROLES[kind]!) {
        const n = len(H);
        const sum = new Float64Array(n);
        for (let b = 0; b < B; b++) {
          const row = b * accFloats + off;
          for (let j = 0; j < n; j++) sum[j] += acc[row + j]!;
        }
        dextra[role] = Float32Array.from(sum);
        off += n;
      }
    }
    return {
      dx: pdx ? heap.take(pdx, TB * I) : null, dh0, dc0,
      dwih: pdwih ? heap.take(pdwih, GH * I) : null, dwhh, dbih: pdbih ? heap.take(pdbih, GH) : null, dbhh, dwhr: null,
      dextra: params ? dextra : null,
    };
  }

  return { forward, backward };
}

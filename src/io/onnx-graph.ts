/**
 * Building ONNX graphs (opset 14): nodes, initializers and typed values, and a recurrent layer
 * (any layers and directions) as ONNX's RNN, LSTM or GRU operators. Gate blocks are reordered by
 * the cell's rule (PyTorch LSTM i,f,g,o -> ONNX i,o,f,c; GRU r,z,n -> z,r,h with
 * linear_before_reset = 1). Encoded with protobufjs's code generated from onnx.proto (the
 * onnx-proto package), loaded when first needed so the rest of the library has no dependency on it.
 *
 * Legend: T steps, B batch, I input, H hidden, D directions, L layers, G gates.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { AnyRecurrentLayer } from '../nn/rnn.js';
import { layerParamName } from '../nn/rnn.js';
import type { Linear } from '../nn/layers.js';
import { VERSION } from '../version.js';

type OnnxModule = typeof import('onnx-proto');
type Onnx = OnnxModule['onnx'];

export const OPSET = 14;
export const FLOAT = 1;
export const INT32 = 6;
export const INT64 = 7;

/** The onnx-proto module, loaded on first use. */
export async function loadOnnx(): Promise<Onnx> {
  const pkg = ((await import('onnx-proto')) as unknown as { default?: OnnxModule } & OnnxModule);
  return (pkg.default ?? pkg).onnx;
}

function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const a = Float32Array.from(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reorders the G row blocks of a (G*H, ...) PyTorch weight into ONNX's gate order. */
function reorder(data: ArrayLike<number>, blocks: number, order: readonly number[]): number[] {
  const rows = data.length / blocks;
  const out: number[] = [];
  for (const b of order) for (let i = 0; i < rows; i++) out.push(data[b * rows + i]!);
  return out;
}

/** Why a recurrent layer cannot be exported, or null. */
export function onnxRefusal(rnn: AnyRecurrentLayer): string | null {
  if (rnn.projSize > 0) return `LSTM projections (projSize ${rnn.projSize}) have no ONNX operator; export a model without projSize`;
  if (rnn.zoneout > 0) return `a layer trained with zoneout (${rnn.zoneout}) evaluates as p * previous + (1 - p) * new state, which ONNX's recurrent operators cannot express`;
  const mapping = rnn.rule.onnx;
  if ('refused' in mapping) return `a ${rnn.rule.layer} cannot be exported to ONNX: ${mapping.refused}`;
  return null;
}

/** One graph under construction. */
export class GraphBuilder {
  readonly nodes: unknown[] = [];
  readonly inits: unknown[] = [];
  private n = 0;
  constructor(readonly onnx: Onnx, private readonly params: Map<string, Tensor>, private readonly who: string) {}

  fresh(base: string): string {
    return `${base}_${this.n++}`;
  }

  attr(name: string, v: number | string | number[] | string[]): unknown {
    const T = this.onnx.AttributeProto.AttributeType;
    if (typeof v === 'number') return { name, type: T.INT, i: v };
    if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
    if (typeof v[0] === 'string') return { name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    return { name, type: T.INTS, ints: v as number[] };
  }

  node(op: string, inputs: string[], outputs: string[], attrs: unknown[] = []): void {
    this.nodes.push({ opType: op, input: inputs, output: outputs, name: this.fresh(op), attribute: attrs });
  }

  /** A node with one output, named fresh from `base`; returns that name. */
  op(op: string, inputs: string[], base: string, attrs: unknown[] = []): string {
    const out = this.fresh(base);
    this.node(op, inputs, [out], attrs);
    return out;
  }

  floatInit(name: string, dims: number[], values: ArrayLike<number>): string {
    this.inits.push({ name, dims, dataType: FLOAT, rawData: f32Bytes(values) });
    return name;
  }

  int64Init(name: string, values: number[], scalar = false): string {
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.inits.push({ name, dims: scalar ? [] : [values.length], dataType: INT64, rawData: new Uint8Array(a.buffer) });
    return name;
  }

  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`${this.who}: the model has no parameter '${name}'`);
    return t;
  }

  /** x (..., in) @ W^T + b for a Linear whose parameters are under `prefix`; returns the output's name. */
  linear(x: string, lin: Linear, prefix: string): string {
    const { inFeatures: I, outFeatures: O } = lin;
    const w = this.param(`${prefix}.weight`).data;
    const wt = new Float32Array(I * O); // (in, out): MatMul's right operand
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) wt[i * O + o] = w[o * I + i]!;
    const mm = this.op('MatMul', [x, this.floatInit(`${prefix}.weight_t`, [I, O], wt)], `${prefix}_mm`);
    return lin.bias ? this.op('Add', [mm, this.floatInit(`${prefix}.bias`, [O], this.param(`${prefix}.bias`).data)], `${prefix}_out`) : mm;
  }

  /**
   * The layers of `rnn` (parameters under `prefix`) over x (T, B, I), with per-layer initial
   * states (names of (D, B, H) values, or '' for zeros) and optional sequence lengths (B)
   * int32: returns the output sequence (T, B, D*H) and each layer's final h (and c).
   */
  recurrent(rnn: AnyRecurrentLayer, prefix: string, x: string, options: { h0?: (l: number) => string; c0?: (l: number) => string; lengths?: string } = {}): { seq: string; hN: string[]; cN: string[] } {
    const refusal = onnxRefusal(rnn);
    if (refusal) throw new Error(`${this.who}: ${refusal}`);
    const mapping = rnn.rule.onnx as Exclude<AnyRecurrentLayer['rule']['onnx'], { refused: string }>;
    const kind = mapping.op;
    const G = rnn.rule.gates.length;
    const order = mapping.order;
    const hard = rnn.variant.gateActivation === 'hard_sigmoid';
    const { hiddenSize: H, numDirections: D, numLayers: L } = rnn;
    const hN: string[] = [];
    const cN: string[] = [];
    for (let l = 0; l < L; l++) {
      const I = l === 0 ? rnn.inputSize : D * H;
      const dirs = Array.from({ length: D }, (_, d) => `_l${l}${d === 1 ? '_reverse' : ''}`);
      const W = this.floatInit(this.fresh(`${prefix}.W_l${l}`), [D, G * H, I], dirs.flatMap((s) => reorder(this.param(`${prefix}.weight_ih${s}`).data, G, order)));
      const R = this.floatInit(this.fresh(`${prefix}.R_l${l}`), [D, G * H, H], dirs.flatMap((s) => reorder(this.param(`${prefix}.weight_hh${s}`).data, G, order)));
      const B = rnn.bias
        ? this.floatInit(this.fresh(`${prefix}.B_l${l}`), [D, 2 * G * H], dirs.flatMap((s) => [...reorder(this.param(`${prefix}.bias_ih${s}`).data, G, order), ...reorder(this.param(`${prefix}.bias_hh${s}`).data, G, order)]))
        : '';
      // peepholes: ONNX's P (D, 3H), blocks i, o, f, from the parameters of the rule's roles
      const nameOf = (role: string): string => rnn.rule.params.find((q) => q.role === role)!.name;
      const P = mapping.peepholes
        ? this.floatInit(this.fresh(`${prefix}.P_l${l}`), [D, 3 * H], Array.from({ length: D }, (_, d) => mapping.peepholes!.flatMap((role) => Array.from(this.param(`${prefix}.${layerParamName(nameOf(role), l, d)}`).data))).flat())
        : null;
      const h0 = options.h0?.(l) ?? '';
      const c0 = rnn.rule.cell ? options.c0?.(l) ?? '' : '';
      const Y = this.fresh(`${prefix}_Y_l${l}`);
      const Yh = this.fresh(`${prefix}_Yh_l${l}`);
      const Yc = kind === 'LSTM' ? this.fresh(`${prefix}_Yc_l${l}`) : null;
      const attrs = [this.attr('hidden_size', H), this.attr('direction', D === 2 ? 'bidirectional' : 'forward')];
      if (kind === 'GRU') attrs.push(this.attr('linear_before_reset', rnn.variant.resetAfter === false ? 0 : 1));
      if (kind === 'RNN') attrs.push(this.attr('activations', Array.from({ length: D }, () => mapping.activation ?? 'Tanh')));
      else if (hard) attrs.push(this.attr('activations', Array.from({ length: D }, () => (kind === 'LSTM' ? ['HardSigmoid', 'Tanh', 'Tanh'] : ['HardSigmoid', 'Tanh'])).flat()));
      // optional inputs left out are '' (ONNX's rule), trailing ones dropped
      const optional = [B, options.lengths ?? '', h0, kind === 'LSTM' ? c0 : '', P ?? ''];
      while (optional.length && optional[optional.length - 1] === '') optional.pop();
      this.node(kind, [x, W, R, ...optional], [Y, Yh, ...(Yc ? [Yc] : [])], attrs);
      hN.push(Yh);
      if (Yc) cN.push(Yc);
      // Y (T, D, B, H) -> (T, B, D, H) -> (T, B, D*H)
      const tr = this.op('Transpose', [Y], `${prefix}_Yt_l${l}`, [this.attr('perm', [0, 2, 1, 3])]);
      x = this.op('Reshape', [tr, this.int64Init(this.fresh('shape'), [0, 0, -1])], `${prefix}_seq_l${l}`);
    }
    return { seq: x, hN, cN };
  }

  /** Several values joined on axis 0 (or the one value) as `out`. */
  concat0(names: string[], out: string): void {
    if (names.length === 1) this.node('Identity', names, [out]);
    else this.node('Concat', names, [out], [this.attr('axis', 0)]);
  }

  /** A typed graph input or output: element type and dimensions (names for symbolic ones). */
  value(name: string, elem: number, dims: (string | number)[]): unknown {
    return { name, type: { tensorType: { elemType: elem, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
  }

  /** The encoded model. */
  encode(name: string, inputs: unknown[], outputs: unknown[]): Uint8Array {
    const msg = this.onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'recurrent',
      producerVersion: VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: { name, node: this.nodes as never, initializer: this.inits as never, input: inputs as never, output: outputs as never },
    });
    return this.onnx.ModelProto.encode(msg).finish();
  }
}

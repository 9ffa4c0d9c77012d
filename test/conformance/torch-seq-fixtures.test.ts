/**
 * PyTorch's values for variable-length batches (pack_padded_sequence -> layer ->
 * pad_packed_sequence) and for the cells beyond PyTorch's own, written out from their papers'
 * equations (test/fixtures/torch-seq, float64), reproduced through the public API as layers and
 * as cells, on every backend, in float32 and float64: outputs, final states and the gradient of
 * every parameter and input of the loss sum(output * r_output) + sum(h_n * r_h_n) (+ c_n).
 */
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tensor, LSTM, GRU, RNN, LayerNormLSTM, PeepholeLSTM, MinGRU, MinLSTM, LayerNormLSTMCell, PeepholeLSTMCell, MinGRUCell, MinLSTMCell,
  layerParamName, listBackends, setBackend, type Module,
} from 'recurrent';
import { ROOT, fromArr, assertClose, type Arr } from '../helpers.js';

const TOL: Record<'float32' | 'float64', [number, number]> = { float32: [1e-5, 1e-4], float64: [1e-10, 1e-9] };

interface Case {
  config: { kind: string; input_size: number; hidden_size: number; num_layers?: number; bidirectional?: boolean; batch_first?: boolean; bias?: boolean; nonlinearity?: string | null };
  lengths?: number[];
  params: Record<string, Arr>;
  input: Arr; h_0?: Arr; c_0?: Arr;
  output: Arr; h_n: Arr; c_n?: Arr;
  r_output: Arr; r_h_n: Arr; r_c_n?: Arr;
  grads: Record<string, Arr>;
}

const load = (name: string): Case => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'torch-seq', `${name}.json`), 'utf8')) as Case;

type AnyLayer = { forward(x: Tensor, s?: unknown, o?: unknown): [Tensor, Tensor | [Tensor, Tensor]] } & Module;
type AnyCell = { forward(x: Tensor, s?: unknown): Tensor | [Tensor, Tensor] } & Module;

const CELL_CASES: Record<string, { layer: (o: { inputSize: number; hiddenSize: number }) => AnyLayer; cell: (o: { inputSize: number; hiddenSize: number }) => AnyCell; pair: boolean }> = {
  layernorm_lstm: { layer: (o) => new LayerNormLSTM(o), cell: (o) => new LayerNormLSTMCell(o), pair: true },
  peephole_lstm: { layer: (o) => new PeepholeLSTM(o), cell: (o) => new PeepholeLSTMCell(o), pair: true },
  mingru: { layer: (o) => new MinGRU(o), cell: (o) => new MinGRUCell(o), pair: false },
  mingru_default_h0: { layer: (o) => new MinGRU(o), cell: (o) => new MinGRUCell(o), pair: false },
  minlstm: { layer: (o) => new MinLSTM(o), cell: (o) => new MinLSTMCell(o), pair: false },
};

const PACKED = ['packed_lstm', 'packed_lstm_2layer_bidir', 'packed_gru_bidir_batchfirst', 'packed_rnn'];

/** sum(t * r) as a loss term. */
const dot = (t: Tensor, r: Arr, dtype: 'float32' | 'float64'): Tensor => t.mul(fromArr(r, dtype)).sum();

/** Checks every gradient the case records: parameters by `nameOf` of their fixture name, inputs by name. */
function checkGrads(m: Module, c: Case, inputs: Record<string, Tensor | undefined>, nameOf: (n: string) => string, dtype: 'float32' | 'float64', label: string): void {
  const [atol, rtol] = TOL[dtype];
  const params = new Map(m.namedParameters());
  for (const [name, g] of Object.entries(c.grads)) {
    const t = params.get(nameOf(name)) ?? inputs[name];
    if (!t?.grad) throw new Error(`${label}: no gradient for ${name}`);
    assertClose(t.grad, g, `${label} grad ${name}`, atol, rtol);
  }
  if (params.size !== Object.keys(c.params).length) throw new Error(`${label}: the module has ${params.size} parameters, the case ${Object.keys(c.params).length}`);
}

for (const be of listBackends()) {
  describe(`PyTorch sequence fixtures [${be}]`, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [atol, rtol] = TOL[dtype];
      for (const name of PACKED) {
        it(`${name} ${dtype}: lengths as packed sequences`, () => {
          setBackend(be);
          const c = load(name);
          const k = c.config;
          const base = { inputSize: k.input_size, hiddenSize: k.hidden_size, numLayers: k.num_layers, bidirectional: k.bidirectional, batchFirst: k.batch_first, bias: k.bias };
          const m = (k.kind === 'LSTM' ? new LSTM(base) : k.kind === 'GRU' ? new GRU(base) : new RNN({ ...base, nonlinearity: (k.nonlinearity ?? 'tanh') as 'tanh' })) as unknown as AnyLayer;
          if (dtype === 'float64') m.to('float64');
          m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([n, v]) => [n, fromArr(v, dtype)])));
          const x = fromArr(c.input, dtype, true);
          const [out, state] = m.forward(x, null, { lengths: c.lengths });
          const [hN, cN] = Array.isArray(state) ? state : [state, null];
          assertClose(out, c.output, `${name} output`, atol, rtol);
          assertClose(hN, c.h_n, `${name} h_n`, atol, rtol);
          if (c.c_n) assertClose(cN!, c.c_n, `${name} c_n`, atol, rtol);
          let loss = dot(out, c.r_output, dtype).add(dot(hN, c.r_h_n, dtype));
          if (c.c_n) loss = loss.add(dot(cN!, c.r_c_n!, dtype));
          loss.backward();
          checkGrads(m, c, { input: x }, (n) => n, dtype, name);
        });
      }
      for (const [name, make] of Object.entries(CELL_CASES)) {
        const setup = (): { c: Case; x: Tensor; h0: Tensor | null; c0: Tensor | null } => {
          setBackend(be);
          const c = load(name);
          return { c, x: fromArr(c.input, dtype, true), h0: c.h_0 ? fromArr(c.h_0, dtype, true) : null, c0: c.c_0 ? fromArr(c.c_0, dtype, true) : null };
        };
        const options = (c: Case) => ({ inputSize: c.config.input_size, hiddenSize: c.config.hidden_size });
        it(`${name} ${dtype}: as a layer`, () => {
          const { c, x, h0, c0 } = setup();
          const m = make.layer(options(c));
          const nameOf = (n: string): string => layerParamName(n, 0, 0);
          if (dtype === 'float64') m.to('float64');
          m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([n, v]) => [nameOf(n), fromArr(v, dtype)])));
          const B = c.input.shape[1]!;
          const H = c.config.hidden_size;
          const h = h0 ? h0.reshape([1, B, H]) : null;
          const state = make.pair ? [h, c0!.reshape([1, B, H])] : h;
          const [out, st] = m.forward(x, state);
          const [hN, cN] = Array.isArray(st) ? st : [st, null];
          assertClose(out, c.output, `${name} output`, atol, rtol);
          assertClose(hN.data, c.h_n.data, `${name} h_n`, atol, rtol); // (1, B, H) against the cell's (B, H)
          if (c.c_n) assertClose(cN!.data, c.c_n.data, `${name} c_n`, atol, rtol);
          let loss = dot(out, c.r_output, dtype).add(dot(hN.reshape([B, H]), c.r_h_n, dtype));
          if (c.c_n) loss = loss.add(dot(cN!.reshape([B, H]), c.r_c_n!, dtype));
          loss.backward();
          checkGrads(m, c, { input: x, h_0: h0 ?? undefined, c_0: c0 ?? undefined }, nameOf, dtype, `${name} layer`);
        });
        it(`${name} ${dtype}: as a cell, step by step`, () => {
          const { c, x, h0, c0 } = setup();
          const cell = make.cell(options(c));
          if (dtype === 'float64') cell.to('float64');
          cell.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([n, v]) => [n, fromArr(v, dtype)])));
          const T = c.input.shape[0]!;
          let h: Tensor | null = h0;
          let cc: Tensor | null = c0;
          const outs: Tensor[] = [];
          for (let t = 0; t < T; t++) {
            const xt = x.slice(0, t, t + 1).reshape([x.shape[1]!, x.shape[2]!]);
            const r = make.pair ? cell.forward(xt, h ? [h, cc!] : null) as [Tensor, Tensor] : [cell.forward(xt, h) as Tensor, null] as const;
            h = r[0];
            cc = r[1];
            outs.push(h);
          }
          const flat = outs.flatMap((o) => Array.from(o.data));
          assertClose(flat, c.output.data, `${name} cell outputs`, atol, rtol);
          let loss = outs.map((o, t) => o.mul(fromArr({ shape: o.shape as number[], data: c.r_output.data.slice(t * o.data.length, (t + 1) * o.data.length) }, dtype)).sum()).reduce((a, b) => a.add(b));
          loss = loss.add(dot(h!, c.r_h_n, dtype));
          if (c.c_n) loss = loss.add(dot(cc!, c.r_c_n!, dtype));
          loss.backward();
          checkGrads(cell, c, { input: x, h_0: h0 ?? undefined, c_0: c0 ?? undefined }, (n) => n, dtype, `${name} cell`);
        });
      }
    }
  });
}

/**
 * Float64 finite-difference checks of the fused sequence kernels (BPTT) for every layer kind
 * and flag, and agreement between each layer and an unrolled loop of its cell.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, randn, gradcheck, manualSeed, LSTM, GRU, RNN, LSTMCell, GRUCell, RNNCell, Generator, LayerNormLSTM, PeepholeLSTM, MinGRU, MinLSTM,
  listBackends, setBackend, stack, concat, type AnyRecurrentLayer,
} from 'recurrent';
import { assertClose } from '../helpers.js';

const weigh = (y: Tensor, seed: number): Tensor => y.mul(randn(y.shape, { dtype: 'float64', generator: new Generator(seed) })).sum();

type Layer = AnyRecurrentLayer;
const configs: [string, () => Layer][] = [
  ['RNN tanh', () => new RNN({ inputSize: 3, hiddenSize: 4 })],
  ['RNN relu 2-layer bidirectional', () => new RNN({ inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true, nonlinearity: 'relu' })],
  ['LSTM', () => new LSTM({ inputSize: 3, hiddenSize: 4 })],
  ['LSTM 2-layer bidirectional batch-first', () => new LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, batchFirst: true })],
  ['LSTM projection, no bias', () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 2, bias: false, bidirectional: true })],
  ['GRU', () => new GRU({ inputSize: 3, hiddenSize: 4 })],
  ['GRU 2-layer bidirectional', () => new GRU({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true })],
  ["GRU, Keras's reset_after=False", () => new GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, bidirectional: true })],
  ["GRU, Keras's hard_sigmoid gates, reset_after=False", () => new GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, recurrentActivation: 'hard_sigmoid' })],
  ["LSTM, Keras's hard_sigmoid gates", () => new LSTM({ inputSize: 3, hiddenSize: 4, recurrentActivation: 'hard_sigmoid', numLayers: 2 })],
  // the cells beyond PyTorch's, with every option they take
  ['LayerNormLSTM', () => new LayerNormLSTM({ inputSize: 3, hiddenSize: 4 })],
  ['LayerNormLSTM 2-layer bidirectional batch-first', () => new LayerNormLSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, batchFirst: true })],
  ['PeepholeLSTM', () => new PeepholeLSTM({ inputSize: 3, hiddenSize: 4 })],
  ['PeepholeLSTM 2-layer bidirectional, no bias', () => new PeepholeLSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, bias: false })],
  ['MinGRU', () => new MinGRU({ inputSize: 3, hiddenSize: 4 })],
  ['MinGRU 2-layer bidirectional batch-first, no bias', () => new MinGRU({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, batchFirst: true, bias: false })],
  ['MinLSTM', () => new MinLSTM({ inputSize: 3, hiddenSize: 4 })],
  ['MinLSTM 3-layer bidirectional', () => new MinLSTM({ inputSize: 2, hiddenSize: 3, numLayers: 3, bidirectional: true })],
];

for (const be of listBackends()) {
  describe(`gradcheck of every layer kind over several steps [${be}]`, () => {
    for (const [name, make, lengths] of [...configs.map(([n, f]) => [n, f, undefined] as const),
      // variable lengths (packed sequences), through both directions and several layers
      ['LSTM 2-layer bidirectional, lengths 5 and 2', () => new LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true }), [5, 2]] as const,
      ['LayerNormLSTM bidirectional batch-first, lengths 3 and 5', () => new LayerNormLSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true, batchFirst: true }), [3, 5]] as const,
      ['MinGRU 2-layer bidirectional, lengths 1 and 5', () => new MinGRU({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true }), [1, 5]] as const,
    ] as [string, () => Layer, number[] | undefined][]) {
      it(name, () => {
        setBackend(be);
        manualSeed(11);
        const m = make().to('float64');
        const T = 5;
        const B = 2;
        const D = m.numDirections;
        const L = m.numLayers;
        const Hout = m.projSize || m.hiddenSize;
        const x = randn(m.batchFirst ? [B, T, m.inputSize] : [T, B, m.inputSize], { dtype: 'float64', requiresGrad: true });
        const h0 = randn([L * D, B, Hout], { dtype: 'float64', requiresGrad: true });
        const c0 = randn([L * D, B, m.hiddenSize], { dtype: 'float64', requiresGrad: true });
        const lstm = m.rule.cell;
        const layer = m as unknown as { forward(x: Tensor, s: unknown, o?: unknown): [Tensor, Tensor | [Tensor, Tensor]] };
        const fn = (): Tensor => {
          const [out, st] = layer.forward(x, lstm ? [h0, c0] : h0, lengths ? { lengths } : {});
          if (Array.isArray(st)) return weigh(out, 1).add(weigh(st[0], 2)).add(weigh(st[1], 3));
          return weigh(out, 1).add(weigh(st as Tensor, 2));
        };
        const inputs = [x, h0, ...(lstm ? [c0] : []), ...m.parameters()];
        const r = gradcheck(fn, inputs, { atol: 1e-7, rtol: 1e-5 });
        assert.ok(r.ok, `${name}: max error ${r.maxError} at ${JSON.stringify(r.worst)}`);
      });
    }
  });

  describe(`layers agree with unrolled cells [${be}]`, () => {
    const T = 6;
    const B = 3;
    const I = 4;
    const H = 5;
    const variants = [
      ['RNN', {}], ['LSTM', {}], ['GRU', {}],
      ['LSTM', { recurrentActivation: 'hard_sigmoid' }],
      ['GRU', { resetAfter: false }],
      ['GRU', { resetAfter: false, recurrentActivation: 'hard_sigmoid' }],
    ] as const;
    for (const [kind, variant] of variants) {
      it(`${kind} ${JSON.stringify(variant)}, both directions: outputs, states and every gradient`, () => {
        setBackend(be);
        manualSeed(5);
        const layer = kind === 'LSTM' ? new LSTM({ inputSize: I, hiddenSize: H, bidirectional: true, ...variant })
          : kind === 'GRU' ? new GRU({ inputSize: I, hiddenSize: H, bidirectional: true, ...variant })
            : new RNN({ inputSize: I, hiddenSize: H, bidirectional: true });
        const mkCell = (): LSTMCell | GRUCell | RNNCell => kind === 'LSTM' ? new LSTMCell({ inputSize: I, hiddenSize: H, ...variant })
          : kind === 'GRU' ? new GRUCell({ inputSize: I, hiddenSize: H, ...variant }) : new RNNCell({ inputSize: I, hiddenSize: H });
        const cells = [mkCell(), mkCell()];
        const sd = layer.stateDict();
        cells.forEach((c, d) => {
          const sfx = d === 1 ? '_l0_reverse' : '_l0';
          c.loadStateDict({ weight_ih: sd[`weight_ih${sfx}`]!, weight_hh: sd[`weight_hh${sfx}`]!, bias_ih: sd[`bias_ih${sfx}`]!, bias_hh: sd[`bias_hh${sfx}`]! });
        });
        const x = randn([T, B, I], { requiresGrad: true });
        const xc = new Tensor(Float32Array.from(x.data), x.shape, { requiresGrad: true });
        const h0 = randn([2, B, H]);
        const c0 = randn([2, B, H]);

        let out: Tensor, hN: Tensor, cN: Tensor | null = null;
        if (layer instanceof LSTM) [out, [hN, cN]] = layer.forward(x, [h0, c0]);
        else [out, hN] = layer.forward(x, h0);

        const perDir: Tensor[][] = [[], []];
        const finals: Tensor[] = [];
        const finalC: Tensor[] = [];
        for (let d = 0; d < 2; d++) {
          let h = h0.slice(0, d, d + 1).squeeze(0);
          let c = c0.slice(0, d, d + 1).squeeze(0);
          for (let s = 0; s < T; s++) {
            const t = d === 0 ? s : T - 1 - s;
            const xt = xc.slice(0, t, t + 1).squeeze(0);
            const cell = cells[d]!;
            if (cell instanceof LSTMCell) [h, c] = cell.forward(xt, [h, c]);
            else h = cell.forward(xt, h);
            perDir[d]![t] = h;
          }
          finals.push(h);
          finalC.push(c);
        }
        const outCells = stack(perDir[0]!.map((h, t) => concat([h, perDir[1]![t]!], 1)), 0); // (T, B, 2H)
        assertClose(out, outCells.data, `${kind} output`, 1e-6, 1e-5);
        assertClose(hN, stack(finals, 0).data, `${kind} h_n`, 1e-6, 1e-5);
        if (cN) assertClose(cN, stack(finalC, 0).data, `${kind} c_n`, 1e-6, 1e-5);

        weigh(out.to('float64'), 8).add(weigh(hN.to('float64'), 9)).backward();
        weigh(outCells.to('float64'), 8).add(weigh(stack(finals, 0).to('float64'), 9)).backward();
        assertClose(x.grad!, xc.grad!.data, `${kind} input gradient`, 1e-6, 1e-5);
        const lp = new Map(layer.namedParameters());
        cells.forEach((c, d) => {
          const sfx = d === 1 ? '_l0_reverse' : '_l0';
          for (const [n, p] of c.namedParameters()) {
            const name = n.replace(/^(weight|bias)_(ih|hh)$/, `$1_$2${sfx}`);
            assertClose(lp.get(name)!.grad!, p.grad!.data, `${kind} grad ${name}`, 1e-6, 1e-5);
          }
        });
      });
    }
  });

  describe(`only the gradients something requires are computed [${be}]`, () => {
    for (const [name, make] of configs) {
      it(name, () => {
        setBackend(be);
        manualSeed(3);
        const m = make();
        const x = randn(m.batchFirst ? [2, 4, m.inputSize] : [4, 2, m.inputSize], { requiresGrad: true });
        const run = (): void => weigh(m.forward(x)[0].to('float64'), 4).backward();
        run();
        const full = { x: x.grad!, params: m.parameters().map((p) => p.grad!) };
        // the input without gradients: the parameters' gradients do not change
        m.zeroGrad();
        x.requiresGrad_(false);
        x.grad = null;
        run();
        assert.equal(x.grad, null);
        m.parameters().forEach((p, i) => assertClose(p.grad!, full.params[i]!.data, `${name} parameter ${i} with the input not requiring gradients`, 0, 0));
        // frozen parameters: the input's gradient does not change
        m.zeroGrad();
        x.requiresGrad_(true);
        for (const p of m.parameters()) p.requiresGrad_(false);
        run();
        assertClose(x.grad!, full.x.data, `${name} input gradient with frozen parameters`, 0, 0);
        for (const p of m.parameters()) assert.equal(p.grad, null);
      });
    }
  });
}

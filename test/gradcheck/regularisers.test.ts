/**
 * Recurrent dropout and zoneout: float64 finite-difference checks for every kind of cell, the
 * definitions step by step (masks redrawn from the same seed), evaluation, the backends' agreement,
 * steppers, and the options' ranges.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, randn, rand, gradcheck, manualSeed, LSTM, GRU, RNN, LayerNormLSTM, PeepholeLSTM, MinGRU, MinLSTM, Generator,
  listBackends, setBackend, concat, type AnyRecurrentLayer,
} from 'recurrent';
import { assertClose } from '../helpers.js';

const weigh = (y: Tensor, seed: number): Tensor => y.mul(randn(y.shape, { dtype: 'float64', generator: new Generator(seed) })).sum();

type Layer = AnyRecurrentLayer;
type Forward = { forward(x: Tensor, s?: unknown, o?: unknown): [Tensor, Tensor | [Tensor, Tensor]] };
const reg = { recurrentDropout: 0.3, zoneout: 0.25 };
const kinds: [string, (o: object) => Layer][] = [
  ['RNN', (o) => new RNN({ inputSize: 3, hiddenSize: 4, ...o })],
  ['LSTM', (o) => new LSTM({ inputSize: 3, hiddenSize: 4, ...o })],
  ['LSTM with a projection', (o) => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 2, ...o })],
  ['GRU', (o) => new GRU({ inputSize: 3, hiddenSize: 4, ...o })],
  ['GRU reset_after=False', (o) => new GRU({ inputSize: 3, hiddenSize: 4, resetAfter: false, ...o })],
  ['LayerNormLSTM', (o) => new LayerNormLSTM({ inputSize: 3, hiddenSize: 4, ...o })],
  ['PeepholeLSTM', (o) => new PeepholeLSTM({ inputSize: 3, hiddenSize: 4, ...o })],
  ['MinGRU', (o) => new MinGRU({ inputSize: 3, hiddenSize: 4, ...o })],
  ['MinLSTM', (o) => new MinLSTM({ inputSize: 3, hiddenSize: 4, ...o })],
];

/** Output, final h and (cells with c) final c of a layer's forward. */
function run(m: Layer, x: Tensor, h0?: Tensor, c0?: Tensor, options: object = {}): { out: Tensor; h: Tensor; c: Tensor | null } {
  const [out, st] = (m as unknown as Forward).forward(x, m.rule.cell ? (h0 ? [h0, c0] : undefined) : h0, options);
  return Array.isArray(st) ? { out, h: st[0], c: st[1] } : { out, h: st as Tensor, c: null };
}

/** A float64 copy of a layer without regularisers (same weights). */
function plainOf(make: (o: object) => Layer, m: Layer): Layer {
  const p = make({}).to('float64');
  p.loadStateDict(m.stateDict());
  return p;
}

for (const be of listBackends()) {
  describe(`recurrent dropout and zoneout: gradients by finite differences [${be}]`, () => {
    const cases: [string, (o: object) => Layer, object, number[] | undefined][] = [
      ...kinds.map(([n, f]) => [n, f, reg, undefined] as [string, (o: object) => Layer, object, undefined]),
      ['LSTM 2-layer bidirectional, lengths 5 and 2', (o) => new LSTM({ inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, ...o }), reg, [5, 2]],
      ['GRU bidirectional batch-first, zoneout only', (o) => new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, batchFirst: true, ...o }), { zoneout: 0.4 }, undefined],
      ['MinGRU 2-layer, lengths 3 and 5, recurrent dropout only', (o) => new MinGRU({ inputSize: 2, hiddenSize: 3, numLayers: 2, ...o }), { recurrentDropout: 0.5 }, [3, 5]],
    ];
    for (const [name, make, opts, lengths] of cases) {
      it(name, () => {
        setBackend(be);
        manualSeed(3);
        const m = make(opts).to('float64');
        const T = 5;
        const B = 2;
        const LD = m.numLayers * m.numDirections;
        const x = randn(m.batchFirst ? [B, T, m.inputSize] : [T, B, m.inputSize], { dtype: 'float64', requiresGrad: true });
        const h0 = randn([LD, B, m.projSize || m.hiddenSize], { dtype: 'float64', requiresGrad: true });
        const c0 = randn([LD, B, m.hiddenSize], { dtype: 'float64', requiresGrad: true });
        const fn = (): Tensor => {
          manualSeed(17); // the same masks at every evaluation
          const r = run(m, x, h0, c0, lengths ? { lengths } : {});
          const s = weigh(r.out, 1).add(weigh(r.h, 2));
          return r.c ? s.add(weigh(r.c, 3)) : s;
        };
        const inputs = [x, h0, ...(m.rule.cell ? [c0] : []), ...m.parameters()];
        const r = gradcheck(fn, inputs, { atol: 1e-7, rtol: 1e-5 });
        assert.ok(r.ok, `${name}: max error ${r.maxError} at ${JSON.stringify(r.worst)}`);
      });
    }
  });

  describe(`recurrent dropout and zoneout: the definitions step by step [${be}]`, () => {
    for (const [name, make] of kinds) {
      it(`${name}: training draws one recurrent mask per sequence and zoneout flags per step; eval is the expectation`, () => {
        setBackend(be);
        manualSeed(4);
        const p = 0.3;
        const q = 0.25;
        const m = make({ recurrentDropout: p, zoneout: q }).to('float64');
        const plain = plainOf(make, m);
        const T = 4;
        const B = 3;
        const H = m.hiddenSize;
        const Hout = m.projSize || H;
        const x = randn([T, B, m.inputSize], { dtype: 'float64' });
        const h0 = randn([1, B, Hout], { dtype: 'float64' });
        const c0 = randn([1, B, H], { dtype: 'float64' });

        manualSeed(9);
        const got = run(m, x, h0, c0);
        // the same draws, in the layer's order: the recurrent mask, then h's zoneout flags, then c's
        manualSeed(9);
        const mask = rand([B * Hout], { dtype: 'float64' }).data.map((u) => (u < p ? 0 : 1 / (1 - p)));
        const zh = rand([T * B * Hout], { dtype: 'float64' }).data.map((u) => (u < q ? 1 : 0));
        const zc = m.rule.cell ? rand([T * B * H], { dtype: 'float64' }).data.map((u) => (u < q ? 1 : 0)) : null;
        const expect = (masked: ArrayLike<number> | null, zoneH: (i: number) => number, zoneC: (i: number) => number): { out: number[]; h: Tensor; c: Tensor | null } => {
          let h = h0;
          let c: Tensor | null = m.rule.cell ? c0 : null;
          const out: number[] = [];
          for (let t = 0; t < T; t++) {
            const hin = masked ? new Tensor(Float64Array.from(h.data, (v, i) => v * masked[i]!), h.shape) : h;
            const r = run(plain, x.slice(0, t, t + 1), hin, c ?? undefined);
            h = new Tensor(Float64Array.from(r.h.data, (v, i) => zoneH(t * B * Hout + i) * h.data[i]! + (1 - zoneH(t * B * Hout + i)) * v), h.shape);
            if (c && r.c) {
              const cp = c;
              c = new Tensor(Float64Array.from(r.c.data, (v, i) => zoneC(t * B * H + i) * cp.data[i]! + (1 - zoneC(t * B * H + i)) * v), c.shape);
            }
            out.push(...h.data);
          }
          return { out, h, c };
        };
        const want = expect(mask, (i) => zh[i]!, (i) => zc![i]!);
        assertClose(got.out, want.out, `${name} output in training`, 1e-12, 1e-10);
        assertClose(got.h, want.h.data, `${name} h_n in training`, 1e-12, 1e-10);
        if (got.c) assertClose(got.c, want.c!.data, `${name} c_n in training`, 1e-12, 1e-10);

        m.eval();
        const ev = run(m, x, h0, c0);
        const wantEval = expect(null, () => q, () => q);
        assertClose(ev.out, wantEval.out, `${name} output in eval`, 1e-12, 1e-10);
        if (ev.c) assertClose(ev.c, wantEval.c!.data, `${name} c_n in eval`, 1e-12, 1e-10);

        // recurrent dropout alone is nothing in eval
        const onlyDropout = make({ recurrentDropout: p }).to('float64');
        onlyDropout.loadStateDict(m.stateDict());
        onlyDropout.eval();
        assertClose(run(onlyDropout, x, h0, c0).out, run(plain, x, h0, c0).out.data, `${name} recurrent dropout in eval`, 0, 0);
      });
    }

    it('zoneout keeps about p of the units at each step in training', () => {
      setBackend(be);
      manualSeed(6);
      const m = new GRU({ inputSize: 2, hiddenSize: 64, zoneout: 0.3 });
      const T = 20;
      const B = 16;
      const { out } = run(m, randn([T, B, 2]));
      let kept = 0;
      for (let i = B * 64; i < out.data.length; i++) if (out.data[i] === out.data[i - B * 64]) kept++;
      const share = kept / ((T - 1) * B * 64);
      assert.ok(Math.abs(share - 0.3) < 0.03, `share of units kept ${share}, expected about 0.3`);
    });
  });

  describe(`regularised steppers [${be}]`, () => {
    it('a zoneout layer\'s stepper gives its evaluation outputs, one step at a time', () => {
      setBackend(be);
      manualSeed(8);
      const m = new LSTM({ inputSize: 3, hiddenSize: 5, numLayers: 2, zoneout: 0.4, recurrentDropout: 0.2 });
      m.eval();
      const x = randn([6, 2, 3]);
      const whole = run(m, x);
      const st = m.stepper();
      let state: unknown = null;
      const outs: Tensor[] = [];
      for (let t = 0; t < 6; t++) {
        const [o, s] = st.step(x.slice(0, t, t + 1).squeeze(0), state as never);
        outs.push(o);
        state = s;
      }
      assertClose(concat(outs, 0), whole.out.data, 'stepper outputs', 1e-6, 1e-5);
    });
  });
}

describe('recurrent dropout and zoneout: every backend gives the same values and gradients', () => {
  it('LSTM and MinGRU, bidirectional, with lengths', () => {
    const results = listBackends().map((be) => {
      setBackend(be);
      manualSeed(12);
      const a = new LSTM({ inputSize: 5, hiddenSize: 7, bidirectional: true, recurrentDropout: 0.2, zoneout: 0.1 });
      const b = new MinGRU({ inputSize: 7 * 2, hiddenSize: 6, zoneout: 0.3 });
      const x = randn([9, 4, 5], { requiresGrad: true });
      const [ya] = a.forward(x, null, { lengths: [9, 3, 7, 9] });
      const [yb] = b.forward(ya);
      weigh(yb.to('float64'), 1).backward();
      return { y: yb.data, dx: x.grad!.data, dw: new Map(a.namedParameters()).get('weight_hh_l0_reverse')!.grad!.data };
    });
    for (let i = 1; i < results.length; i++) {
      assertClose(results[i]!.y, results[0]!.y, 'output', 1e-5, 1e-4);
      assertClose(results[i]!.dx, results[0]!.dx, 'input gradient', 1e-5, 1e-4);
      assertClose(results[i]!.dw, results[0]!.dw, 'weight_hh gradient', 1e-5, 1e-4);
    }
  });
});

describe('recurrent dropout and zoneout: ranges', () => {
  for (const [name, v] of [['recurrentDropout', 1], ['recurrentDropout', -0.1], ['zoneout', 1], ['zoneout', 1.5], ['zoneout', Number.NaN], ['zoneout', '0.2']] as const) {
    it(`${name} ${String(v)} is refused`, () => {
      assert.throws(() => new LSTM({ inputSize: 2, hiddenSize: 3, [name]: v }), (e: Error) => e.message.includes(`LSTM: ${name} must be a number in [0, 1), got ${String(v)}`));
    });
  }
});

/**
 * PyTorch's values for the sequence tools (test/fixtures/torch-seq, float64): CTC, multi-head
 * and additive attention, through the public API on every backend, in float32 and float64:
 * outputs and the gradient of every parameter and input of sum(output * r_output).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, ctcLoss, listBackends, setBackend, MultiheadAttention, BahdanauAttention, type Module, type Tensor } from 'recurrent';
import { ROOT, fromArr, assertClose, type Arr } from '../helpers.js';

const TOL: Record<'float32' | 'float64', [number, number]> = { float32: [1e-5, 1e-4], float64: [1e-10, 1e-9] };
const load = <T>(name: string): T => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'torch-seq', `${name}.json`), 'utf8')) as T;

interface CtcCase {
  config: { blank: number; reduction: 'mean' | 'sum' | 'none'; zero_infinity: boolean };
  logits: Arr; targets: Arr; input_lengths: number[]; target_lengths: number[];
  loss: Arr; r_loss: Arr; grads: { logits: Arr };
}

interface MhaCase {
  config: { embed_dim: number; num_heads: number; bias: boolean; batch_first: boolean; kdim: number; vdim: number };
  params: Record<string, Arr>; query: Arr; key: Arr; value: Arr; key_padding_mask?: Arr; attn_mask?: Arr;
  output: Arr; weights: Arr; r_output: Arr; r_weights: Arr; grads: Record<string, Arr>;
}
interface BahdanauCase {
  config: { hidden_size: number };
  params: Record<string, Arr>; query: Arr; keys: Arr; mask?: Arr;
  context: Arr; weights: Arr; r_context: Arr; r_weights: Arr; grads: Record<string, Arr>;
}

const MHA = ['mha_basic', 'mha_batchfirst_padding', 'mha_causal_self', 'mha_kdim_vdim_nobias'];
const BAHDANAU = ['bahdanau_basic', 'bahdanau_masked'];
const ints = (a: Arr): Tensor => tensor(Int32Array.from(a.data), a.shape);

/** Loads the case's parameters and checks every recorded gradient: parameters by name, inputs by `inputs`. */
function checkGrads(m: Module, grads: Record<string, Arr>, inputs: Record<string, Tensor>, atol: number, rtol: number, label: string): void {
  const params = new Map(m.namedParameters());
  for (const [name, g] of Object.entries(grads)) {
    const t = params.get(name) ?? inputs[name];
    if (!t?.grad) throw new Error(`${label}: no gradient for ${name}`);
    assertClose(t.grad, g, `${label} grad ${name}`, atol, rtol);
  }
}

const CTC = ['ctc_basic', 'ctc_empty_target', 'ctc_long', 'ctc_none_blank_last', 'ctc_repeats_sum', 'ctc_zero_infinity'];

for (const be of listBackends()) {
  describe(`PyTorch sequence tools [${be}]`, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [atol, rtol] = TOL[dtype];
      for (const name of CTC) {
        it(`${name} ${dtype}: ctcLoss through logSoftmax, value and gradient`, () => {
          setBackend(be);
          const c = load<CtcCase>(name);
          const logits = fromArr(c.logits, dtype, true);
          const targets = tensor(Int32Array.from(c.targets.data), c.targets.shape);
          const loss = ctcLoss(logits.logSoftmax(2), targets, c.input_lengths, c.target_lengths, { blank: c.config.blank, reduction: c.config.reduction, zeroInfinity: c.config.zero_infinity });
          assertClose(loss.data, c.loss.data, `${name} loss`, atol, rtol);
          loss.mul(c.config.reduction === 'none' ? fromArr(c.r_loss, dtype) : c.r_loss.data[0]!).sum().backward();
          assertClose(logits.grad!, c.grads.logits, `${name} grad logits`, atol, rtol);
        });
      }
      for (const name of MHA) {
        it(`${name} ${dtype}: MultiheadAttention, output, weights and every gradient`, () => {
          setBackend(be);
          const c = load<MhaCase>(name);
          const k = c.config;
          const m = new MultiheadAttention({ embedDim: k.embed_dim, numHeads: k.num_heads, bias: k.bias, batchFirst: k.batch_first, kdim: k.kdim, vdim: k.vdim });
          if (dtype === 'float64') m.to('float64');
          assert.deepEqual(m.namedParameters().map(([n]) => n).sort(), Object.keys(c.params).sort());
          m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([n, v]) => [n, fromArr(v, dtype)])));
          const [q, kk, v] = [fromArr(c.query, dtype, true), fromArr(c.key, dtype, true), fromArr(c.value, dtype, true)];
          const [out, w] = m.forward(q, kk, v, { keyPaddingMask: c.key_padding_mask ? ints(c.key_padding_mask) : null, attnMask: c.attn_mask ? ints(c.attn_mask) : null });
          assertClose(out, c.output, `${name} output`, atol, rtol);
          assertClose(w!, c.weights, `${name} weights`, atol, rtol);
          out.mul(fromArr(c.r_output, dtype)).sum().add(w!.mul(fromArr(c.r_weights, dtype)).sum()).backward();
          checkGrads(m, c.grads, { query: q, key: kk, value: v }, atol, rtol, name);
        });
      }
      for (const name of BAHDANAU) {
        it(`${name} ${dtype}: BahdanauAttention, context, weights and every gradient`, () => {
          setBackend(be);
          const c = load<BahdanauCase>(name);
          const m = new BahdanauAttention({ hiddenSize: c.config.hidden_size });
          if (dtype === 'float64') m.to('float64');
          assert.deepEqual(m.namedParameters().map(([n]) => n).sort(), Object.keys(c.params).sort());
          m.loadStateDict(Object.fromEntries(Object.entries(c.params).map(([n, v]) => [n, fromArr(v, dtype)])));
          const [q, keys] = [fromArr(c.query, dtype, true), fromArr(c.keys, dtype, true)];
          const [ctx, w] = m.forward(q, keys, c.mask ? ints(c.mask) : null);
          assertClose(ctx, c.context, `${name} context`, atol, rtol);
          assertClose(w, c.weights, `${name} weights`, atol, rtol);
          ctx.mul(fromArr(c.r_context, dtype)).sum().add(w.mul(fromArr(c.r_weights, dtype)).sum()).backward();
          checkGrads(m, c.grads, { query: q, keys }, atol, rtol, name);
          // keys projected once give the same values
          const [ctx2] = m.forward(q, keys, c.mask ? ints(c.mask) : null, m.projectKeys(keys));
          assertClose(ctx2, c.context, `${name} context from projected keys`, atol, rtol);
        });
      }
    }
  });
}

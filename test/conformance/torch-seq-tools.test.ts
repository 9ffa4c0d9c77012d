/**
 * PyTorch's values for the sequence tools (test/fixtures/torch-seq, float64): CTC, multi-head
 * and additive attention, through the public API on every backend, in float32 and float64:
 * outputs and the gradient of every parameter and input of sum(output * r_output).
 */
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, ctcLoss, listBackends, setBackend } from 'recurrent';
import { ROOT, fromArr, assertClose, type Arr } from '../helpers.js';

const TOL: Record<'float32' | 'float64', [number, number]> = { float32: [1e-5, 1e-4], float64: [1e-10, 1e-9] };
const load = <T>(name: string): T => JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'torch-seq', `${name}.json`), 'utf8')) as T;

interface CtcCase {
  config: { blank: number; reduction: 'mean' | 'sum' | 'none'; zero_infinity: boolean };
  logits: Arr; targets: Arr; input_lengths: number[]; target_lengths: number[];
  loss: Arr; r_loss: Arr; grads: { logits: Arr };
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
    }
  });
}

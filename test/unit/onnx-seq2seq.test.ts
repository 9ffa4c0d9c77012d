/**
 * Seq2Seq to ONNX as two graphs (the encoder, one decoder step), run in ONNX Runtime: a greedy
 * loop over the decoder step reproduces recurrent's translations token for token, with the
 * logits and attention weights of every step, on a padded batch.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { Seq2Seq, exportSeq2SeqOnnx, tensor, manualSeed, noGrad, randn, type Seq2SeqConfig } from 'recurrent';
import { assertClose } from '../helpers.js';

const configs: [string, Seq2SeqConfig][] = [
  ['bi-GRU encoder, GRU decoder, Bahdanau', {
    sourceVocab: 11, sourceEmbedding: 6, targetVocab: 9, targetEmbedding: 5, encoder: { kind: 'gru', hiddenSize: 4, bidirectional: true },
    decoder: { kind: 'gru', hiddenSize: 8 }, bos: 1, eos: 2, pad: 0,
  }],
  ['2-layer bi-LSTM encoder into a 2-layer LSTM decoder, Bahdanau, output from [h, context]', {
    sourceVocab: 11, sourceEmbedding: 6, targetVocab: 9, targetEmbedding: 5, encoder: { kind: 'lstm', hiddenSize: 3, numLayers: 2, bidirectional: true },
    decoder: { kind: 'lstm', hiddenSize: 6, numLayers: 2 }, bos: 1, eos: 2, pad: 0,
  }],
  ['RNN encoder through a bridge into an LSTM decoder, no attention', {
    sourceVocab: 11, sourceEmbedding: 6, targetVocab: 9, targetEmbedding: 5, encoder: { kind: 'rnn', hiddenSize: 7 },
    decoder: { kind: 'lstm', hiddenSize: 5 }, attention: 'none', bos: 1, eos: 2, pad: 0,
  }],
];

describe('Seq2Seq to ONNX, run in ONNX Runtime', () => {
  for (const [name, config] of configs) {
    it(name, async () => {
      manualSeed(5);
      const m = new Seq2Seq(config);
      // larger weights: outputs that differ from step to step
      noGrad(() => { for (const p of m.parameters()) p.data.set(randn(p.shape).mul(0.8).data); });
      const { encoder, decoder } = await exportSeq2SeqOnnx(m);
      const enc = await ort.InferenceSession.create(encoder);
      const dec = await ort.InferenceSession.create(decoder);
      const S = 5, N = 3, lengths = [5, 2, 4];
      const src = new Int32Array(S * N);
      for (let i = 0; i < src.length; i++) src[i] = 3 + ((i * 7) % 8);
      for (let n = 0; n < N; n++) for (let s = lengths[n]!; s < S; s++) src[s * N + n] = 0;
      const source = tensor(src, [S, N]);
      const ours = m.translate(source, { sourceLengths: lengths, maxLength: 6 });
      const e = await enc.run({ source: new ort.Tensor('int32', src, [S, N]), source_lengths: new ort.Tensor('int32', Int32Array.from(lengths), [N]) });
      const cell = m.decoder.rule.cell;
      let state: Record<string, ort.Tensor> = { h: e['h']!, ...(cell ? { c: e['c']! } : {}) };
      const extra: Record<string, ort.Tensor> = m.attention ? { keys: e['keys']!, projected: e['projected']!, mask_bias: e['mask_bias']! } : {};
      let prev = new Int32Array(N).fill(config.bos);
      const tokens: number[][] = lengths.map(() => []);
      const done = new Array<boolean>(N).fill(false);
      for (let t = 0; t < 6; t++) {
        const r = await dec.run({ prev: new ort.Tensor('int32', prev, [N]), ...state, ...extra });
        const logits = r['logits']!.data as Float32Array;
        const V = config.targetVocab;
        const next = new Int32Array(N);
        for (let n = 0; n < N; n++) {
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[n * V + v]! > logits[n * V + best]!) best = v;
          next[n] = best;
          if (done[n]) continue;
          if (m.attention) assertClose(Array.from((r['weights']!.data as Float32Array).subarray(n * S, n * S + lengths[n]!)), ours[n]!.attention[t]!, `${name}: weights of sequence ${n} at step ${t}`, 1e-5, 1e-4);
          if (best === config.eos) done[n] = true;
          else tokens[n]!.push(best);
        }
        prev = next;
        state = { h: r['h_out']!, ...(cell ? { c: r['c_out']! } : {}) };
      }
      assert.deepEqual(tokens, ours.map((o) => o.tokens));
      assert.ok(tokens.some((t) => t.length > 1), 'some translation is longer than one token');
    });
  }
  it('refuses what it cannot write, naming it', async () => {
    const m = new Seq2Seq({ ...configs[0]![1], attention: 'multihead', numHeads: 2 });
    await assert.rejects(exportSeq2SeqOnnx(m), /multi-head attention in a Seq2Seq is not exported/);
    const z = new Seq2Seq({ ...configs[0]![1], encoder: { kind: 'mingru', hiddenSize: 4, bidirectional: true } });
    await assert.rejects(exportSeq2SeqOnnx(z), /the encoder: a MinGRU cannot be exported to ONNX/);
  });
});

/** safetensors: files written by an independent writer, round trips, hostile headers and fuzzing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, withPrefix, renamePrefixes, SequenceModel, LSTM, GRU, RNN, tensor, randn, manualSeed, Generator, type Tensor } from 'recurrent';
import { ROOT, fixture, fromArr, assertClose, assertThrowsMatching as throws, type Arr } from '../helpers.js';

const dir = join(ROOT, 'test', 'fixtures', 'safetensors');
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));

/** A file from a header object and a data section, as an independent writer would lay it out. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('reads every supported dtype from a file written by another implementation', () => {
    const { tensors, metadata } = loadSafetensors(file('dtypes.safetensors'));
    const expected = JSON.parse(readFileSync(join(dir, 'dtypes.expected.json'), 'utf8')) as Record<string, Arr>;
    const dtypes: Record<string, string> = { f16: 'float32', bf16: 'float32', f64: 'float64', i32: 'int32', i64: 'int32', empty: 'float32', scalar: 'float32' };
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected).sort());
    for (const [k, e] of Object.entries(expected)) {
      const t = tensors[k]!;
      assert.equal(t.dtype, dtypes[k], k);
      assert.deepEqual([...t.shape], e.shape, k);
      assert.deepEqual(Array.from(t.data), e.data, k);
    }
    assert.deepEqual(metadata, { note: 'values exact in every dtype' });
  });

  it("loads a PyTorch model's state dict (submodule 'rnn.') and reproduces PyTorch's outputs", () => {
    const { tensors, metadata } = loadSafetensors(file('lstm_2layer_bidir.safetensors'));
    assert.equal(metadata['format'], 'pt');
    const c = fixture<{ config: { input_size: number; hidden_size: number }; input: Arr; h_0: Arr; c_0: Arr; output: Arr; h_n: Arr }>('lstm_2layer_bidir_h0');
    const lstm = new LSTM({ inputSize: c.config.input_size, hiddenSize: c.config.hidden_size, numLayers: 2, bidirectional: true });
    lstm.loadStateDict(withPrefix(tensors, 'rnn.'));
    const [out, [hN]] = lstm.forward(fromArr(c.input), [fromArr(c.h_0), fromArr(c.c_0)]);
    assertClose(out, c.output, 'output');
    assertClose(hN, c.h_n, 'h_n');
  });

  it('maps other submodule names onto a SequenceModel with renamePrefixes', () => {
    const { tensors } = loadSafetensors(file('lstm_2layer_bidir.safetensors'));
    const renamed = renamePrefixes(tensors, { 'rnn.': 'encoder.' });
    assert.ok('encoder.weight_ih_l0' in renamed && !('rnn.weight_ih_l0' in renamed));
    const m = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true }, head: { outFeatures: 2 } });
    const back = renamePrefixes(renamed, { 'encoder.': 'rnn.' });
    m.loadStateDict({ ...back, 'head.weight': m.head.weight, 'head.bias': m.head.bias! });
    throws(() => renamePrefixes({ 'a.x': m.head.weight, 'b.x': m.head.weight }, { 'a.': 'c.', 'b.': 'c.' }), "two entries become 'c.x'");
  });

  it('every PyTorch layer fixture, stored as safetensors by another writer, reproduces its outputs', () => {
    const names = readdirSync(dir).filter((f) => f.endsWith('.safetensors') && f !== 'dtypes.safetensors');
    assert.equal(names.length, 10);
    for (const f of names) {
      const { tensors, metadata } = loadSafetensors(file(f));
      const c = fixture<{ config: { kind: string; input_size: number; hidden_size: number; num_layers: number; bias: boolean; batch_first: boolean; bidirectional: boolean; nonlinearity: 'tanh' | 'relu' | null; proj_size: number | null }; input: Arr; h_0?: Arr; c_0?: Arr; output: Arr; h_n: Arr; c_n?: Arr }>(metadata['fixture']!);
      const k = c.config;
      const base = { inputSize: k.input_size, hiddenSize: k.hidden_size, numLayers: k.num_layers, bias: k.bias, batchFirst: k.batch_first, bidirectional: k.bidirectional };
      const m = k.kind === 'LSTM' ? new LSTM({ ...base, projSize: k.proj_size ?? 0 }) : k.kind === 'GRU' ? new GRU(base) : new RNN({ ...base, nonlinearity: k.nonlinearity ?? 'tanh' });
      m.loadStateDict(withPrefix(tensors, 'rnn.'));
      const x = fromArr(c.input);
      if (m instanceof LSTM) {
        const [out, [hN, cN]] = m.forward(x, c.h_0 && c.c_0 ? [fromArr(c.h_0), fromArr(c.c_0)] : undefined);
        assertClose(out, c.output, `${f} output`);
        assertClose(hN, c.h_n, `${f} h_n`);
        assertClose(cN, c.c_n!, `${f} c_n`);
      } else {
        const [out, hN] = m.forward(x, c.h_0 ? fromArr(c.h_0) : undefined);
        assertClose(out, c.output, `${f} output`);
        assertClose(hN, c.h_n, `${f} h_n`);
      }
    }
  });

  it('round-trips tensors of every dtype and metadata exactly; outputs are identical after reload', () => {
    manualSeed(4);
    const gru = new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2 });
    const extra = { ids: tensor(Int32Array.from([1, -2, 3]), [3]), f64: randn([2, 2], { dtype: 'float64' }) };
    const bytes = saveSafetensors({ ...gru.stateDict(), ...extra }, { arch: 'gru', note: 'ünïcode ✓' });
    const view = new DataView(bytes.buffer);
    assert.equal(Number(view.getBigUint64(0, true)) % 8, 0, 'header padded to 8 bytes');
    const { tensors, metadata } = loadSafetensors(bytes);
    assert.deepEqual(metadata, { arch: 'gru', note: 'ünïcode ✓' });
    const copy = new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2 });
    copy.loadStateDict(Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('weight') || k.startsWith('bias'))));
    const x = randn([4, 2, 3]);
    assert.deepEqual(Array.from(copy.forward(x)[0].data), Array.from(gru.forward(x)[0].data));
    assert.deepEqual(Array.from(tensors['ids']!.data), [1, -2, 3]);
    assert.equal(tensors['f64']!.dtype, 'float64');
    assert.deepEqual(Array.from(tensors['f64']!.data), Array.from(extra.f64.data));
  });

  it('refuses hostile and corrupt files with a reason', () => {
    const f32 = (n: number): Uint8Array => new Uint8Array(4 * n) as Uint8Array;
    const t = (dtype: string, shape: unknown, off: unknown): Record<string, unknown> => ({ a: { dtype, shape, data_offsets: off } });
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'even the header length needs 8'],
      [new Uint8Array(5), 'even the header length needs 8'],
      [build({}, new Uint8Array(0), 2n ** 63n), 'more than the 100000000 allowed'],
      [build({}, new Uint8Array(0), 1000n), 'the header claims 1000 bytes but the file has only 2'],
      [build('{"a": '), 'not valid JSON'],
      [build('[1, 2]'), 'does not start with "{"'],
      [build('{"a": 1} trailing'), 'not valid JSON'],
      [build(t('F32', [2], [0, 8]), f32(1)), "ends at byte 8 of the data, but the file holds only 4"],
      [build(t('Q7', [1], [0, 4]), f32(1)), "unknown dtype 'Q7'"],
      [build(t('BOOL', [4], [0, 4]), f32(1)), 'dtype BOOL, which recurrent does not load'],
      [build(t('F32', [-1], [0, 4]), f32(1)), 'invalid shape'],
      [build(t('F32', [1.5], [0, 4]), f32(1)), 'invalid shape'],
      [build(t('F32', [1], [4, 0]), f32(1)), 'end before they begin'],
      [build(t('F32', [1], [0]), f32(1)), 'invalid data_offsets'],
      [build(t('F32', [3], [0, 4]), f32(1)), 'spans 4 bytes but F32 [3] needs 12'],
      [build(t('F32', [2 ** 40, 2 ** 40], [0, 4]), f32(1)), 'needs'],
      [build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), "overlaps the one before it"],
      [build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), 'a gap of 4 bytes'],
      [build(t('F32', [1], [0, 4]), f32(2)), '4 bytes after the last tensor'],
      [build({ __metadata__: { a: 1 } }), "__metadata__ entry 'a' is not a string"],
      [build({ __metadata__: [1] }), '__metadata__ must be an object'],
      [build({ a: 5 }), "tensor 'a' is not an object"],
      [build(t('I64', [1], [0, 8]), new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0])), 'outside the int32 range'],
    ];
    for (const [bytes, why] of cases) throws(() => loadSafetensors(bytes), 'loadSafetensors:', why);
    throws(() => loadSafetensors('not bytes' as unknown as Uint8Array), 'expected a Uint8Array');
    throws(() => saveSafetensors({ a: [1] as unknown as Tensor }), "saveSafetensors: 'a' is not a Tensor");
    throws(() => saveSafetensors({}, { a: 2 as unknown as string }), "metadata 'a' must be a string");
  });

  it('survives fuzzing: truncation, bit flips and rewritten lengths give a reason or a valid result', () => {
    const g = new Generator(2026);
    const seeds = [file('dtypes.safetensors'), file('lstm_2layer_bidir.safetensors'), saveSafetensors({ x: randn([3, 4]), y: tensor(Int32Array.from([1, 2]), [2]) }, { k: 'v' })];
    let refused = 0;
    let accepted = 0;
    const t0 = performance.now();
    for (let i = 0; i < 6000; i++) {
      const src = seeds[i % seeds.length]!;
      let bytes = src.slice();
      const kind = i % 4;
      if (kind === 0) bytes = bytes.slice(0, g.int(bytes.length + 1)); // truncated
      else if (kind === 1) {
        // bit flips, mostly in the header
        const hl = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
        for (let f = 0; f < 1 + g.int(4); f++) {
          const at = g.random() < 0.8 ? g.int(Math.min(bytes.length, 8 + hl)) : g.int(bytes.length);
          bytes[at]! ^= 1 << g.int(8);
        }
      } else if (kind === 2) {
        // a rewritten header length, small or huge
        const v = g.random() < 0.5 ? BigInt(g.int(bytes.length * 2)) : BigInt(g.nextUint32()) * BigInt(g.nextUint32());
        new DataView(bytes.buffer).setBigUint64(0, v, true);
      } else {
        // a byte of the header replaced by JSON punctuation or a digit
        const hl = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
        const chars = '{}[]",:-0123456789e.';
        bytes[8 + g.int(hl)] = chars.charCodeAt(g.int(chars.length));
      }
      try {
        const { tensors } = loadSafetensors(bytes);
        const held = Object.values(tensors).reduce((n, t) => n + t.data.byteLength, 0);
        // conversions (F16/BF16 to float32) at most double the bytes in the file
        assert.ok(held <= 2 * bytes.length, `${held} bytes of tensors from a ${bytes.length}-byte file`);
        accepted++;
      } catch (e) {
        if (!(e instanceof Error) || e.constructor !== Error || !e.message.startsWith('loadSafetensors: ')) {
          throw new Error(`mutation ${i} crashed with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        }
        refused++;
      }
    }
    assert.ok(refused > 4000 && accepted > 100, `refused ${refused}, accepted ${accepted}`);
    assert.ok(performance.now() - t0 < 60_000);
  });
});

/** The `recurrent` command: help, usage errors, and export onnx end to end (checked in ONNX Runtime). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import ort from 'onnxruntime-node';
import { SequenceModel, saveModelFile, randn, manualSeed } from 'recurrent';
import { ROOT, assertClose } from '../helpers.js';

const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('recurrent CLI', () => {
  it('prints help and its version; the bin is declared', () => {
    const h = cli('--help');
    assert.equal(h.status, 0);
    assert.match(h.stdout, /export onnx --model MODEL --out FILE.onnx/);
    assert.match(cli('export', '--help').stdout, /Usage: recurrent export onnx/);
    assert.match(cli('--version').stdout, /^\d+\.\d+\.\d+\n$/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['recurrent'], './dist/cli/index.js');
  });
  it('says what is wrong, with exit code 2 for usage and 1 for failures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-cli-'));
    try {
      let r = cli('frobnicate');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /unknown command 'frobnicate'/);
      r = cli('export', 'onnx', '--out', join(dir, 'x.onnx'));
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--model is required/);
      r = cli('export', 'tflite', '--model', 'm', '--out', 'o');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /unknown format 'tflite'/);
      r = cli('export', 'onnx', '--model', join(dir, 'missing.safetensors'), '--out', join(dir, 'x.onnx'));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /the model file .*missing.safetensors does not exist/);
      writeFileSync(join(dir, 'empty.safetensors'), '');
      r = cli('export', 'onnx', '--model', join(dir, 'empty.safetensors'), '--out', join(dir, 'x.onnx'));
      assert.equal(r.status, 1);
      assert.match(r.stderr, /empty.safetensors: loadSafetensors: the file has 0 bytes/);
      r = cli('export', 'onnx', '--model', 'm', '--bogus');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /Unknown option '--bogus'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('export onnx writes a model that ONNX Runtime runs to recurrent\'s outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recurrent-cli-'));
    try {
      manualSeed(12);
      const m = new SequenceModel({ rnn: { kind: 'lstm', inputSize: 2, hiddenSize: 6, numLayers: 2 }, head: { outFeatures: 1 }, output: 'last' });
      saveModelFile(join(dir, 'm.safetensors'), m);
      const plain = cli('export', 'onnx', '--model', join(dir, 'm.safetensors'), '--out', join(dir, 'plain.onnx'), '--json');
      assert.equal(plain.status, 0, plain.stderr);
      assert.deepEqual((JSON.parse(plain.stdout.trim()) as { inputs: string[] }).inputs, ['input']);
      const r = cli('export', 'onnx', '--model', join(dir, 'm.safetensors'), '--out', join(dir, 'm.onnx'), '--states', '--json');
      assert.equal(r.status, 0, r.stderr);
      const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { out: string; bytes: number; inputs: string[] };
      assert.deepEqual(line.inputs, ['input', 'h0', 'c0']);
      const session = await ort.InferenceSession.create(readFileSync(line.out));
      const x = randn([9, 4, 2]);
      const [y] = m.forward(x);
      const zeros = new ort.Tensor('float32', new Float32Array(2 * 4 * 6), [2, 4, 6]);
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.data), [9, 4, 2]), h0: zeros, c0: zeros });
      assertClose(out['output']!.data as Float32Array, y.data, 'output', 1e-4, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

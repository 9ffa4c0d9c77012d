// onnxruntime-node on BENCHMARKS.md's lstm-infer: the model, input and expected output that
// `INFER_DUMP=DIR node bench/ours.mjs lstm-infer-TxB` wrote to DIR. Checks that ONNX Runtime's
// output agrees with ours to 1e-5 before timing; this process loads nothing else, so its peak
// memory is ONNX Runtime's own.
//   node bench/ort.mjs DIR THREADS [SECONDS]   -> one JSON line
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { measureAsync } from './measure.mjs';

const [dir, threadsArg, secondsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);
const seconds = Number(secondsArg ?? 4);
const { T, B, ids } = JSON.parse(readFileSync(join(dir, 'input.json'), 'utf8'));
const want = new Float32Array(new Uint8Array(readFileSync(join(dir, 'output.bin'))).buffer);
const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
const feeds = { input: new ort.Tensor('int32', Int32Array.from(ids), [T, B]) };
const got = (await session.run(feeds)).output.data;
let worst = 0;
for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
if (got.length !== want.length || !(worst <= 1e-5)) {
  console.error(`ort.mjs: ONNX Runtime's output differs from recurrent's (worst ${worst}, ${got.length} against ${want.length} values)`);
  process.exit(1);
}
const r = await measureAsync({ unit: 'tokens/s', perStep: T * B, step: () => session.run(feeds) }, seconds);
console.log(JSON.stringify({ lib: 'onnxruntime', variant: `onnxruntime-node ${ort.env.versions?.node ?? ''} ${threads}t`.replace(/\s+/g, ' '), workload: `lstm-infer-${T}x${B}`, threads, agree: worst, ...r }));

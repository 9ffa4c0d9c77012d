// TensorFlow.js on the standard workloads (layers API, as its users write them).
//   node bench/peers/tfjs.mjs wasm|cpu WORKLOAD [SECONDS]   -> one JSON line
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { measureAsync } from '../measure.mjs';

const [backend, name, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 5);
await tf.setBackend(backend);
await tf.ready();

function lm(layer, H, layers = 1) {
  const T = 64, B = 32, I = 64, V = 65;
  const model = tf.sequential();
  for (let l = 0; l < layers; l++) model.add(tf.layers[layer]({ units: H, returnSequences: true, ...(l === 0 ? { inputShape: [T, I] } : {}) }));
  model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: V, activation: 'softmax' }) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.randomNormal([B, T, I]);
  const y = tf.randomUniform([B, T, 1], 0, V, 'int32').toFloat();
  return { unit: 'tokens/s', perStep: T * B, step: () => model.trainOnBatch(x, y) };
}

function ts() {
  const T = 24, B = 64;
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: 32, inputShape: [T, 1] }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  const x = tf.randomNormal([B, T, 1]);
  const y = tf.randomNormal([B, 1]);
  return { unit: 'sequences/s', perStep: B, step: () => model.trainOnBatch(x, y) };
}

function gen() {
  const V = 65, E = 64, H = 256;
  const emb = tf.randomNormal([V, E]);
  const kernel = tf.randomUniform([E + H, 4 * H], -0.06, 0.06);
  const bias = tf.zeros([4 * H]);
  const head = tf.randomUniform([H, V], -0.06, 0.06);
  let c = tf.zeros([1, H]);
  let h = tf.zeros([1, H]);
  let token = 0;
  return {
    unit: 'tokens/s', perStep: 1, step: async () => {
      const [c1, h1, probs] = tf.tidy(() => {
        const x = tf.gather(emb, [token]);
        const [cn, hn] = tf.basicLSTMCell(1.0, kernel, bias, x, c, h);
        return [cn, hn, tf.softmax(tf.matMul(hn, head))];
      });
      tf.dispose([c, h]);
      c = c1;
      h = h1;
      const p = await probs.data();
      probs.dispose();
      let r = Math.random();
      let k = 0;
      while (k < V - 1 && (r -= p[k]) > 0) k++;
      token = k;
    },
  };
}

// The same generation through the layers API, as TensorFlow.js users write it (and as the other
// workloads here are written): a stateful model, predict() on one token a step.
function genLayers() {
  const V = 65, E = 64, H = 256;
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: V, outputDim: E, batchInputShape: [1, 1] }));
  model.add(tf.layers.lstm({ units: H, stateful: true }));
  model.add(tf.layers.dense({ units: V, activation: 'softmax' }));
  let token = 0;
  return {
    unit: 'tokens/s', perStep: 1, step: async () => {
      const x = tf.tensor2d([[token]], [1, 1]);
      const probs = model.predict(x);
      const p = await probs.data();
      tf.dispose([x, probs]);
      let r = Math.random();
      let k = 0;
      while (k < V - 1 && (r -= p[k]) > 0) k++;
      token = k;
    },
  };
}

const workloads = {
  'lstm-lm': () => lm('lstm', 256), 'gru-lm': () => lm('gru', 256), 'rnn-lm': () => lm('simpleRNN', 256),
  'lstm-big': () => lm('lstm', 512, 2), 'lstm-ts': ts, 'lstm-gen': gen,
};
const r = await measureAsync(workloads[name](), seconds, backend === 'cpu');
const how = name === 'lstm-gen' ? ' (core ops)' : '';
console.log(JSON.stringify({ lib: `tfjs-${backend}`, variant: `TensorFlow.js ${tf.version.tfjs} ${backend}${how}`, workload: name, ...r }));
if (name === 'lstm-gen') {
  const l = await measureAsync(genLayers(), seconds, backend === 'cpu');
  console.log(JSON.stringify({ lib: `tfjs-${backend}-layers`, variant: `TensorFlow.js ${tf.version.tfjs} ${backend} (layers)`, workload: name, ...l }));
}

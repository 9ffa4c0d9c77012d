/** Bad input gets a clear error naming the argument, what was expected and what came. */
import { describe, it } from 'node:test';
import {
  tensor, zeros, randn, LSTM, GRU, RNN, LSTMCell, GRUCell, Embedding, Linear, crossEntropy, mseLoss,
  Adam, SGD, clipGradNorm, StepLR,
} from 'recurrent';
import { assertThrowsMatching as throws } from '../helpers.js';

describe('recurrent layers reject bad input', () => {
  const lstm = new LSTM({ inputSize: 5, hiddenSize: 7, numLayers: 2, bidirectional: true });
  it('wrong feature count', () => {
    throws(() => lstm.forward(randn([4, 2, 3])), 'LSTM.forward', 'input has 3 features, expected inputSize 5');
  });
  it('wrong rank', () => {
    throws(() => lstm.forward(randn([4, 2, 3, 5])), 'LSTM.forward', 'must be 3-D', '[4, 2, 3, 5]');
    throws(() => new GRU({ inputSize: 5, hiddenSize: 2 }).forward(randn([5])), 'GRU.forward', '[5]');
  });
  it('integer input', () => {
    throws(() => lstm.forward(tensor(new Int32Array(40), [4, 2, 5])), 'LSTM.forward', 'floating-point', 'int32', 'Embedding');
  });
  it('mismatched state shapes', () => {
    const x = randn([4, 2, 5]);
    throws(() => lstm.forward(x, [zeros([4, 3, 7]), zeros([4, 2, 7])]), 'LSTM.forward', 'h0 has shape [4, 3, 7], expected [4, 2, 7]');
    throws(() => lstm.forward(x, [zeros([4, 2, 7]), zeros([2, 2, 7])]), 'LSTM.forward', 'c0 has shape [2, 2, 7], expected [4, 2, 7]');
    throws(() => new GRU({ inputSize: 5, hiddenSize: 3 }).forward(x, zeros([1, 2, 4])), 'GRU.forward', 'h0 has shape [1, 2, 4], expected [1, 2, 3]');
    throws(() => lstm.forward(x, [zeros([4, 2, 7])] as unknown as [never, never]), 'LSTM.forward', 'pair [h0, c0]');
  });
  it('projected LSTM states use projSize for h and hiddenSize for c', () => {
    const p = new LSTM({ inputSize: 2, hiddenSize: 4, projSize: 3 });
    throws(() => p.forward(randn([3, 1, 2]), [zeros([1, 1, 4]), zeros([1, 1, 4])]), 'h0 has shape [1, 1, 4], expected [1, 1, 3]');
  });
  it('dtype mismatch between input and parameters', () => {
    throws(() => lstm.forward(randn([4, 2, 5], { dtype: 'float64' })), 'LSTM.forward', 'input is float64 but the parameters are float32');
  });
  it('unknown and invalid options', () => {
    throws(() => new LSTM({ inputSize: 5, hiddenSize: 7, hidden_size: 3 } as never), "LSTM: unknown option 'hidden_size'", 'hiddenSize');
    throws(() => new GRU({ inputSize: 5, hiddenSize: 0 }), 'GRU: hiddenSize must be a positive integer, got 0');
    throws(() => new RNN({ inputSize: 5, hiddenSize: 3, nonlinearity: 'sigmoid' as never }), "RNN: nonlinearity must be one of 'tanh', 'relu', got 'sigmoid'");
    throws(() => new LSTM({ inputSize: 5, hiddenSize: 3, projSize: 3 }), 'LSTM: projSize must be smaller than hiddenSize 3, got 3');
    throws(() => new LSTM({ inputSize: 5, hiddenSize: 3, dropout: 1 }), 'LSTM: dropout must be a number in [0, 1), got 1');
    throws(() => new GRU({ inputSize: 5, hiddenSize: 3, bidirectional: 'yes' as never }), 'GRU: bidirectional must be true or false');
    throws(() => new LSTMCell({ inputSize: 5, hiddenSize: 3, projSize: 1 } as never), "LSTMCell: unknown option 'projSize'");
    throws(() => new Linear({ inFeatures: 3, outFeatures: 2, bais: false } as never), "Linear: unknown option 'bais'");
  });
  it('cells check input and state', () => {
    const cell = new GRUCell({ inputSize: 4, hiddenSize: 3 });
    throws(() => cell.forward(randn([2, 5])), 'GRUCell.forward', 'input has 5 features, expected inputSize 4');
    throws(() => cell.forward(randn([2, 4]), randn([3, 3])), 'GRUCell.forward', 'h has shape [3, 3], expected [2, 3]');
    throws(() => new LSTMCell({ inputSize: 4, hiddenSize: 3 }).forward(randn([2, 4]), [randn([2, 3]), randn([2, 2])]), 'LSTMCell.forward', 'c has shape [2, 2], expected [2, 3]');
  });
});

describe('embeddings and losses reject bad indices', () => {
  const emb = new Embedding({ numEmbeddings: 10, embeddingDim: 3 });
  it('float token ids', () => {
    throws(() => emb.forward(tensor([1, 2, 3])), 'Embedding.forward', 'token ids must be an int32 tensor', 'got float32');
  });
  it('out-of-range token ids', () => {
    throws(() => emb.forward(tensor(Int32Array.from([1, 12, 3]), [3])), 'Embedding.forward', 'token id 12 at flat position 1 is out of range [0, 10)');
    throws(() => emb.forward(tensor(Int32Array.from([-1]), [1])), 'token id -1');
  });
  it('crossEntropy targets', () => {
    throws(() => crossEntropy(randn([3, 4]), tensor([1, 2, 0])), 'crossEntropy', 'target must hold int32 class indices', 'got float32');
    throws(() => crossEntropy(randn([3, 4]), tensor(Int32Array.from([1, 4, 0]), [3])), 'crossEntropy', 'target 4 at position 1 is out of range for 4 classes');
    throws(() => crossEntropy(randn([3, 4]), tensor(Int32Array.from([1, 2]), [2])), 'crossEntropy', 'target must be (N) = [3]');
    throws(() => crossEntropy(randn([3, 4]), tensor(Int32Array.from([1, 2, 3]), [3]), { reduction: 'avg' as never }), "crossEntropy: reduction must be 'mean', 'sum' or 'none', got avg");
  });
  it('mseLoss shapes', () => {
    throws(() => mseLoss(randn([3, 1]), randn([3])), 'mseLoss: target shape [3] must equal input shape [3, 1]');
  });
});

describe('loadStateDict is strict and names the entry', () => {
  const gru = new GRU({ inputSize: 3, hiddenSize: 4 });
  const good = (): Record<string, ReturnType<typeof zeros>> => ({
    weight_ih_l0: zeros([12, 3]), weight_hh_l0: zeros([12, 4]), bias_ih_l0: zeros([12]), bias_hh_l0: zeros([12]),
  });
  it('accepts the right entries', () => {
    gru.loadStateDict(good());
  });
  it('missing entry', () => {
    const sd = good();
    delete (sd as Record<string, unknown>).bias_hh_l0;
    throws(() => gru.loadStateDict(sd), 'GRU.loadStateDict', "missing entry 'bias_hh_l0'", '[12]');
  });
  it('unexpected entry', () => {
    throws(() => gru.loadStateDict({ ...good(), weight_ih_l1: zeros([12, 4]) }), "unexpected entry 'weight_ih_l1'");
  });
  it('wrong shape', () => {
    throws(() => gru.loadStateDict({ ...good(), weight_hh_l0: zeros([4, 12]) }), "entry 'weight_hh_l0' has shape [4, 12], expected [12, 4]");
  });
  it('not a tensor, and integer tensors', () => {
    throws(() => gru.loadStateDict({ ...good(), bias_ih_l0: [1, 2] as never }), "entry 'bias_ih_l0' is not a Tensor");
    throws(() => gru.loadStateDict({ ...good(), bias_ih_l0: tensor(new Int32Array(12), [12]) }), "entry 'bias_ih_l0' is int32");
  });
  it('changes nothing when it throws', () => {
    const before = Array.from(gru.parameters()[0]!.data);
    const sd = { ...good(), weight_ih_l0: tensor(new Float32Array(36).fill(9), [12, 3]), extra: zeros([1]) };
    throws(() => gru.loadStateDict(sd), "unexpected entry 'extra'");
    if (Array.from(gru.parameters()[0]!.data).some((v, i) => v !== before[i])) throw new Error('parameters changed');
  });
});

describe('tensors, ops and optimizers reject bad input', () => {
  it('creation', () => {
    throws(() => tensor([1, 2, 3], [2, 2]), 'tensor: data has 3 elements but shape [2, 2] needs 4');
    throws(() => tensor([[1, 2], [3]]), 'tensor: nested data is ragged');
    throws(() => zeros([2, -1]), 'zeros', 'non-negative integers');
  });
  it('shapes in ops', () => {
    throws(() => randn([2, 3]).add(randn([4])), 'add: shapes [2, 3] and [4] cannot be broadcast');
    throws(() => randn([2, 3]).matmul(randn([4, 2])), 'matmul: shapes [2, 3] and [4, 2] do not chain');
    throws(() => randn([2, 3]).reshape([4, 2]), 'reshape: cannot reshape [2, 3] (6 elements) to [4, 2]');
    throws(() => randn([2, 3]).sum(2), 'sum: dim 2 is out of range for a tensor of rank 2');
    throws(() => randn([2]).item(), 'Tensor.item: only a tensor with one element');
  });
  it('backward', () => {
    throws(() => randn([2]).sum().backward(), 'backward: this tensor does not require gradients');
    throws(() => randn([2], { requiresGrad: true }).mul(2).backward(), 'backward: grad can be implied only for a scalar output');
    const x = randn([2], { requiresGrad: true });
    const y = x.tanh().sum();
    y.backward();
    throws(() => y.backward(), 'already freed', 'retainGraph');
  });
  it('optimizers and schedules', () => {
    const p = randn([2], { requiresGrad: true });
    throws(() => new Adam([p], { lr: -1 }), 'Adam: lr must be a non-negative number, got -1');
    throws(() => new Adam([p], { learningRate: 1 } as never), "Adam: unknown option 'learningRate'");
    throws(() => new SGD([p], { lr: 0.1, nesterov: true }), 'SGD: nesterov needs momentum > 0');
    throws(() => new Adam([randn([2])]), 'does not require gradients');
    throws(() => new Adam([]), 'empty parameter list');
    throws(() => clipGradNorm([p], -1), 'clipGradNorm: maxNorm must be a non-negative number');
    throws(() => new StepLR(new SGD([p], { lr: 1 }), { stepSize: 0 }), 'StepLR: stepSize must be a positive integer, got 0');
  });
});

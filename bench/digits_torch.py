# PyTorch's side of bench/digits-torch.mjs: the same model from the same initial weights
# (DIR/init.safetensors), trained on the same batches (DIR/batches.bin, each: int32 T, N, S;
# float32 x (T, N, 28); int32 lengths (N), targets (N, S), target lengths (N)); one line per
# step: the loss and the gradient norm before clipping.
import json, struct, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
folder, steps = sys.argv[1], int(sys.argv[2])
raw = open(f'{folder}/init.safetensors', 'rb').read()
size = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + size])
base = 8 + size
weights = {k: torch.from_numpy(np.frombuffer(raw[base + v['data_offsets'][0]:base + v['data_offsets'][1]], dtype=np.float32).reshape(v['shape']).copy())
           for k, v in header.items() if k != '__metadata__'}


class Reader(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 128, 2, bidirectional=True)
        self.head = nn.Linear(256, 11)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
        return F.log_softmax(self.head(out), 2)


model = Reader()
model.load_state_dict(weights, strict=True)
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
batches = open(f'{folder}/batches.bin', 'rb')


def read(n, dtype):
    return np.frombuffer(batches.read(n * 4), dtype=dtype).copy()


for step in range(steps):
    T, N, S = (int(v) for v in read(3, np.int32))
    x = torch.from_numpy(read(T * N * 28, np.float32).reshape(T, N, 28))
    lengths = torch.from_numpy(read(N, np.int32)).long()
    targets = torch.from_numpy(read(N * S, np.int32).reshape(N, S)).long()
    target_lengths = torch.from_numpy(read(N, np.int32)).long()
    opt.zero_grad()
    loss = F.ctc_loss(model(x, lengths), targets, lengths, target_lengths)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), 5)
    opt.step()
    print(f'{loss.item():.9g} {norm.item():.9g}', flush=True)

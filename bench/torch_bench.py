"""PyTorch on the standard workloads (BENCHMARKS.md), for `npm run bench`.

    /usr/bin/python3 bench/torch_bench.py WORKLOAD THREADS [SECONDS]   -> one JSON line
    /usr/bin/python3 bench/torch_bench.py matmul [SECONDS]             -> numpy single-thread matmul lines
"""
import json, os, resource, sys, time

if len(sys.argv) > 1 and sys.argv[1] == "matmul":
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402


def measure(step, per_step, unit, seconds):
    for _ in range(2):
        step()
    t0 = time.perf_counter()
    steps = 0
    while steps < 3 or time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    s = time.perf_counter() - t0
    return {"value": round(steps * per_step / s), "unit": unit, "steps": steps, "stepMs": round(s / steps * 1000, 2),
            "peakMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main():
    name = sys.argv[1]
    if name == "matmul":
        seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
        shapes = [("input projection x @ Wih^T", False, True, 2048, 1024, 64), ("recurrent step h @ Whh^T", False, True, 32, 1024, 256),
                  ("head seq @ W^T", False, True, 2048, 65, 256), ("dWhh = dA^T @ Hprev", True, False, 1024, 256, 2048),
                  ("dx = dA @ Wih", False, False, 2048, 64, 1024), ("square 512", False, False, 512, 512, 512)]
        for label, ta, tb, M, N, K in shapes:
            a = np.random.rand(*((K, M) if ta else (M, K))).astype(np.float32)
            b = np.random.rand(*((N, K) if tb else (K, N))).astype(np.float32)
            A = a.T if ta else a
            B = b.T if tb else b
            np.matmul(A, B)
            t0 = time.perf_counter(); reps = 0
            while time.perf_counter() - t0 < seconds:
                np.matmul(A, B); reps += 1
            s = (time.perf_counter() - t0) / reps
            print(json.dumps({"shape": label, "M": M, "N": N, "K": K, "backend": "numpy (OpenBLAS, 1 thread)", "gflops": round(2 * M * N * K / s / 1e9, 2)}))
        return
    threads = int(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    def lm(kind, H, layers=1, T=64, B=32):
        I, V = 64, 65
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](I, H, num_layers=layers)
        head = nn.Linear(H, V)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)
        x = torch.randn(T, B, I)
        y = torch.randint(0, V, (T * B,))

        def step():
            opt.zero_grad()
            out, _ = rnn(x)
            loss = nn.functional.cross_entropy(head(out).reshape(T * B, V), y)
            loss.backward()
            opt.step()
        return step, T * B, "tokens/s"

    def mingru_lm():
        # minGRU as the paper's reference code writes it (Feng et al. 2024): the log-space parallel
        # scan, batch-first, with the lm workload's shapes
        T, B, I, H, V = 64, 32, 64, 256, 65
        F = nn.functional

        def log_g(v):
            return torch.where(v >= 0, (F.relu(v) + 0.5).log(), -F.softplus(-v))

        def scan_log(log_coeffs, log_values):
            a_star = F.pad(torch.cumsum(log_coeffs, dim=1), (0, 0, 1, 0))
            log_h0_plus_b_star = torch.logcumsumexp(log_values - a_star, dim=1)
            return torch.exp(a_star + log_h0_plus_b_star)[:, 1:]

        proj, head = nn.Linear(I, 2 * H), nn.Linear(H, V)
        opt = torch.optim.Adam(list(proj.parameters()) + list(head.parameters()), lr=1e-3)
        x = torch.randn(B, T, I)
        y = torch.randint(0, V, (B * T,))
        h0 = torch.zeros(B, 1, H)

        def step():
            opt.zero_grad()
            k, z = proj(x).chunk(2, dim=-1)
            log_z, log_coeffs = -F.softplus(-z), -F.softplus(z)
            h = scan_log(log_coeffs, torch.cat([log_g(h0), log_z + log_g(k)], dim=1))
            loss = F.cross_entropy(head(h).reshape(B * T, V), y)
            loss.backward()
            opt.step()
        return step, T * B, "tokens/s"

    def ts():
        T, B, H = 24, 64, 32
        rnn, head = nn.LSTM(1, H), nn.Linear(H, 1)
        opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
        x, y = torch.randn(T, B, 1), torch.randn(B, 1)

        def step():
            opt.zero_grad()
            _, (h, _) = rnn(x)
            loss = nn.functional.mse_loss(head(h[0]), y)
            loss.backward()
            opt.step()
        return step, B, "sequences/s"

    def gen():
        V, E, H = 65, 64, 256
        emb, rnn, head = nn.Embedding(V, E), nn.LSTM(E, H), nn.Linear(H, V)
        state = {"s": None, "tok": torch.zeros(1, 1, dtype=torch.long)}

        def step():
            with torch.no_grad():
                out, state["s"] = rnn(emb(state["tok"]), state["s"])
                p = torch.softmax(head(out[0]), -1)
                state["tok"] = torch.multinomial(p, 1)
        return step, 1, "tokens/s"

    def step_loop():
        # a generation loop as a PyTorch user writes it: the layer's forward on one step, the head,
        # softmax and a draw, 100 tokens a call
        V, E, H = 65, 64, 256
        emb, rnn, head = nn.Embedding(V, E), nn.LSTM(E, H), nn.Linear(H, V)
        state = {"s": None, "tok": 0}

        def step():
            with torch.no_grad():
                for _ in range(100):
                    out, state["s"] = rnn(emb(torch.tensor([[state["tok"]]])), state["s"])
                    p = torch.softmax(head(out[0, 0]), -1)
                    state["tok"] = int(torch.multinomial(p, 1))
        return step, 100, "tokens/s"

    def forward_call():
        # one LSTM forward at T=1, B=1 (64 -> 256), the state carried, no gradients: 100 calls a step
        rnn = nn.LSTM(64, 256)
        x = torch.randn(1, 1, 64)
        state = {"s": None}

        def step():
            with torch.no_grad():
                for _ in range(100):
                    _, state["s"] = rnn(x, state["s"])
        return step, 100, "calls/s"

    def ctc():
        T, N, C = 100, 32, 30
        g = torch.Generator().manual_seed(3)
        logits = torch.randn(T, N, C, requires_grad=True)
        lengths = torch.randint(10, 31, (N,), generator=g)
        targets = torch.randint(1, C, (N, 30), generator=g)
        input_lengths = torch.full((N,), T, dtype=torch.long)

        def step():
            logits.grad = None
            nn.functional.ctc_loss(logits.log_softmax(2), targets, input_lengths, lengths).backward()
        return step, N, "sequences/s"

    def seq2seq():
        # the translation tutorial's model with BENCHMARKS.md's sizes: keys projected once per batch
        S, T, N, Vs, Vt, E, He, Hd = 12, 12, 64, 30, 45, 64, 128, 256

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.src_emb, self.tgt_emb = nn.Embedding(Vs, E), nn.Embedding(Vt, E)
                self.encoder = nn.GRU(E, He, bidirectional=True)
                self.Wa, self.Ua, self.Va = nn.Linear(Hd, Hd), nn.Linear(Hd, Hd), nn.Linear(Hd, 1)
                self.decoder = nn.GRU(E + 2 * He, Hd)
                self.out = nn.Linear(Hd, Vt)

            def forward(self, src, tin):
                enc, h = self.encoder(self.src_emb(src))
                keys = enc.transpose(0, 1)  # (N, S, 2He)
                uk = self.Ua(keys)
                h = torch.cat([h[0], h[1]], 1).unsqueeze(0)  # (1, N, Hd)
                logits = []
                for t in range(tin.shape[0]):
                    q = h[0].unsqueeze(1)
                    scores = self.Va(torch.tanh(self.Wa(q) + uk)).squeeze(2).unsqueeze(1)
                    w = torch.softmax(scores, -1)
                    ctx = torch.bmm(w, keys)
                    x = torch.cat([self.tgt_emb(tin[t]).unsqueeze(1), ctx], 2).transpose(0, 1)
                    out, h = self.decoder(x, h)
                    logits.append(self.out(out))
                return torch.cat(logits, 0)

        model = Model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        src = torch.randint(3, Vs, (S, N))
        tin, tout = torch.randint(3, Vt, (T, N)), torch.randint(3, Vt, (T, N))

        def step():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(src, tin).reshape(T * N, Vt), tout.reshape(T * N), ignore_index=0)
            loss.backward()
            opt.step()
        return step, T * N, "tokens/s"

    workloads = {"lstm-lm": lambda: lm("lstm", 256), "gru-lm": lambda: lm("gru", 256), "rnn-lm": lambda: lm("rnn", 256),
                 "lstm-big": lambda: lm("lstm", 512, 2), "lstm-ts": ts, "lstm-gen": gen, "lstm-step": step_loop, "lstm-forward-1x1": forward_call,
                 "lstm-long": lambda: lm("lstm", 256, 1, 1024, 8), "mingru-lm": mingru_lm, "ctc": ctc, "seq2seq": seq2seq}
    if name not in workloads:
        return
    step, per, unit = workloads[name]()
    r = measure(step, per, unit, seconds)
    print(json.dumps({"lib": "pytorch", "variant": f"PyTorch {torch.__version__} {threads}t", "workload": name, "threads": threads, **r}))


main()

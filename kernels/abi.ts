// The kernels' side of what they share with TypeScript: the argument blocks (i32 slots, one per
// name, in order), the records inside them, and the thread pool's control words. The build
// (scripts/build-kernels.mjs) writes each enum here out as a TypeScript constant of the same
// name and values (src/backend/wasm/abi.generated.ts), so the two sides cannot drift: a slot is
// added, moved or renamed here only. Every pointer is a byte address in the kernels' memory.
//
// Legend: T steps, B batch, I input, H hidden, P projection (0 = none), Hout = P || H, G gates,
// GH = G * H.

/**
 * The argument block of recurrentForward, recurrentBackward and recurrentGenerate (kernels/forward.ts, backward.ts, generate.ts).
 */
export const enum Rec {
  /** the kind of cell: the ids LSTM, GRU, RNN_TANH, RNN_RELU of CellKernel */
  KIND, T, B, I, H, P,
  /** 1: the reverse direction */
  REV,
  /** x (T, B, I); the weights as PyTorch lays them out (a bias or whr: 0 when absent); h0, c0 */
  X, WIH, WHH, BIH, BHH, WHR, H0, C0,
  /** what forward writes and backward reads: out (T, B, Hout), the activated gates (T, B, GH), LSTM c and tanh(c), m (before a projection), GRU's hn (all T, B, H) */
  OUT, GATES, C, TC, M, HN,
  /** scratch: one step's h @ whh^T (B, GH); whh^T and whr^T packed; the threads' workspaces */
  HH, WPACK, RPACK, WS,
  /** backward: dOut (T, B, Hout) or 0, dh (dhN in, dh0 out), dc (likewise), dAx (T, B, GH), GRU's dAh, dh of every step and dm (projection), every step's h_{t-1} */
  DOUT, DH, DC, DAX, DAH, DHALL, DM, HPREV,
  /** the gradients (0: not wanted, not computed; HPREV is 0 exactly when DWHH is) */
  DX, DWIH, DWHH, DBIH, DBHH, DWHR,
  /** threads: how many, the pool's control words (Ctrl), the bytes of each thread's workspace */
  NTH, CTRL, WSB,
  /**
   * 1: the weights were prepared once for many calls. Forward: WIH, WPACK and RPACK hold packed
   * wih^T, whh^T, whr^T (a stepper's snapshot, or a layer's weights kept between calls).
   * Backward: WPACK and RPACK hold packed whh and whr, as the right operands of dA @ whh and
   * dh @ whr (WHH and WHR are not read).
   */
  PREPACKED,
  /** backward: per batch row sums over the steps of the input-side and (GRU) recurrent-side gate gradients, (B, GH) each, for the bias gradients (0 when no bias needs them) */
  ACCX, ACCH,
  /**
   * stepping (prepacked) only: with IDS (T*B int32 token ids), a step's input projection is the
   * row TABLE[id] (V, GH) (an embedding's rows times wih^T) and x is not read; with HEAD (a packed
   * (Hout, O) head), LOGITS (T*B, O) = out @ head (+ HEADB, every row starting as the bias)
   */
  IDS, TABLE, HEAD, HEADB, O, LOGITS,
  /**
   * stepping one row on several threads, pipelined (all persistent, or 0: off): each worker, once
   * its share of the call is done and counted, computes its units' columns of the next step's
   * h_T @ whh^T into PRE, from its own copy of h_T (HAHEAD + tid * H floats), and marks them valid
   * (PREOK word tid = nth | MAIN << 8: the split they are for); a next call with that split whose
   * h0 equals that copy starts from them. MAIN: the calling thread's 8-unit blocks (0: an even
   * split; fewer where the workers computed ahead, while it alone ran the JavaScript between
   * calls); TWS: 256 bytes of workspace per thread for that.
   */
  PRE, HAHEAD, PREOK, TWS, MAIN,
  /**
   * generation (recurrentGenerate): T tokens drawn, the first step's input the token FIRST; UNIF: T
   * float64 uniforms in [0, 1), one per draw; TEMP: the temperature's float32 bits (0: greedy);
   * IDS: the drawn tokens out (T int32); LOGITS: 2 * nth rows of OPAD floats, one per thread for
   * the head's output (every thread computes all of it: they then draw the same token with no
   * second barrier), then one per thread for the draw's weights; LAYERS: NL records (GenLayer)
   */
  UNIF, TEMP, FIRST, OPAD, LAYERS, NL,
  /**
   * forward on several threads (0: off): room for wih^T packed once, so that each thread projects
   * its own batch rows of every step (the rows its recurrence reads next, kept in its own cache)
   * instead of a share of all rows' columns
   */
  XPACK,
  /**
   * each row's steps (B int32, each in 1..T), or 0: every row runs all T. Row b runs only steps
   * t < LENS[b] (the reverse direction from its own last step). Forward writes its padded steps'
   * out (and c) as 0 in the forward direction and as h0 (c0) in the reverse one, where they are
   * the state the row starts from; backward ignores dOut there, carries dh (dc) across them and
   * leaves their gate gradients 0. No projection (P = 0).
   */
  LENS,
  /** backward, 1: DWIH, DWHH, DBIH, DBHH and DWHR hold gradients (a parameter's so far) that this call's are added onto */
  GADD,
  COUNT,
}

/** The kinds of cell the fused recurrent kernels run (Rec.KIND). */
export const enum CellKernel { LSTM, GRU, RNN_TANH, RNN_RELU }

/**
 * One layer's record of recurrentGenerate (Rec.LAYERS, GenLayer.COUNT i32 each): its input width,
 * packed wih^T (layers above the first), packed whh^T, the biases, h0 and c0, h and c (2 * H
 * floats each, double-buffered by step parity), the gates row (GH), the recurrent product (GH),
 * tanh(c) (H), GRU's hn (H).
 */
export const enum GenLayer { I, WIH, WHH, BIH, BHH, H0, C0, H, C, GATES, HH, TC, HN, COUNT = 16 }

/** The argument block of minScanForward and minScanBackward (kernels/minscan.ts). */
export const enum Scan {
  T, B, H,
  /** 1: minLSTM (gates k, f, i), 0: minGRU (k, z) */
  LSTM,
  REV,
  /** gates (T, B, GH): the input projection (without its bias) in, the activated g(k), z / f, i out (forward); bias (GH) or 0; h0 (B, H); out (T, B, H) */
  GATES, BIAS, H0, OUT,
  /** backward: dOut (T, B, H) or 0; dh (B, H): dhN in, dh0 out; dA (T, B, GH) out */
  DOUT, DH, DA,
  NTH,
  COUNT,
}

/**
 * The argument block of linearBackward (kernels/index.ts): dx (ROWS, K) = g (ROWS, O) @ w (O, K),
 * dw (O, K) = g^T @ x (ROWS, K), db (O) = the column sums of g (float64 scratch ACC, O doubles); a
 * zero pointer skips that output. WS: the workspaces, WSB bytes each. ADD 1: dw and db are added
 * onto what they hold (a parameter's gradient so far).
 */
export const enum Linear { ROWS, K, O, G, X, W, DX, DW, DB, WS, WSB, ACC, NTH, ADD, COUNT }

/**
 * The argument block of gemmPrepackedShare (kernels/index.ts): C (M, N) (+)= A (M, K) @ Bp, Bp a
 * layer's weight packed once (pack()), its rows split between NTH threads; ACC 1: added onto C.
 * WS: the workspaces, WSB bytes each.
 */
export const enum Packed { M, N, K, A, BP, C, ACC, WS, WSB, NTH, COUNT }

/**
 * The argument block of gemmBatched (kernels/index.ts): BATCH contiguous products
 * C_i (M, N) = op(A_i) op(B_i), A_i stored (M, K) or (K, M) when TA is 1, B_i (K, N) or (N, K)
 * when TB is 1, one after another in A, B and C; whole products split between NTH threads.
 * WS: the workspaces, WSB bytes each.
 */
export const enum Batched { BATCH, TA, TB, M, N, K, A, B, C, WS, WSB, NTH, COUNT }

/**
 * The argument block of variantForward and variantBackward (kernels/variants.ts): the LSTM
 * variants whose step needs more than the fused kernels' gate math (layer norms over whole rows,
 * peepholes). Sizes: AX (T, B, 4H); OUT, C, TC, NC (T, B, H); GATES, NX, NH, DAX, DAH (T, B, 4H);
 * RX, RH, RC (T, B); H0, C0, DH, DC (B, H).
 */
export const enum Variant {
  /** VariantKind */
  KIND, T, B, H, REV,
  /** x @ W_ih^T of every step (its bias not added); W_hh (4H, H) as PyTorch lays it out, and room to pack it */
  AX, WHH, WPACK,
  /** the peephole LSTM's biases (or 0) and peephole weights (H each) */
  BIH, BHH, WCI, WCF, WCO,
  /** the layer norms' gains and shifts: of W_ih x and W_hh h (4H each), of the new cell state (H each) */
  LNI_W, LNI_B, LNH_W, LNH_B, LNC_W, LNC_B,
  H0, C0,
  /** what forward writes and backward reads: out (h), c, tanh(c), the activated gates i, f, g, o */
  OUT, C, TC, GATES,
  /** the layer-normalised LSTM's normalised rows and their 1 / sqrt(var + eps) */
  NX, RX, NH, RH, NC, RC,
  /** scratch: one step's h @ W_hh^T (B, 4H); each thread's rows of scratch (SCRB bytes each) */
  HH, SCR, SCRB,
  /** backward: dOut (T, B, H) or 0; dh, dc (dhN, dcN in; dh0, dc0 out); the gradients of W_ih x and W_hh h (one array for the peephole LSTM) */
  DOUT, DH, DC, DAX, DAH,
  /** backward: per batch row, sums over the steps of the extra parameters' gradients (layer norms: 4H, 4H, 4H, 4H, H, H; peepholes: H, H, H) */
  ACC,
  NTH, CTRL, WS, WSB,
  COUNT,
}

/** The LSTM variants of variantForward (Variant.KIND). */
export const enum VariantKind { LAYERNORM, PEEPHOLE }

/**
 * The thread pool's control words (i32) at the bottom of the shared memory (src/backend/wasm/pool.ts):
 * a barrier's count and generation (used inside the kernels), the job's sequence number, the
 * workers done with it, its kernel and thread count, its arguments (ARGS_COUNT words from ARGS);
 * the workers started; FAILED: 0, or 1 + the id of the first thread whose share of the job threw;
 * INJECT: a test's injected failure (1 + the id of the worker whose next job throws); from AHEAD,
 * one word per thread: 1 while that worker computes ahead (Rec.PRE), its share of the job already
 * counted done. AHEAD_THREADS threads have such a word (the caller's, id 0, never set).
 */
export const enum Ctrl {
  BARRIER_COUNT, BARRIER_GEN, JOB_SEQ, DONE, KERNEL, THREADS,
  ARGS, ARGS_COUNT = 14,
  STARTED = 20, FAILED, INJECT,
  AHEAD = 24, AHEAD_THREADS = 8,
  COUNT = 32,
}

/** The argument block of softmaxShare (kernels/softmax.ts): rows split between threads. */
export const enum Rows {
  /** 0: softmax (or log-softmax) of X into OUT; 1: its backward from Y (the output) and G (its gradient) */
  OP,
  X, Y, G, OUT, ROWS, N,
  /** 1: log-softmax */
  LOG,
  NTH,
  COUNT,
}

/** The argument block of ctcLoss (kernels/ctc.ts). */
export const enum Ctc {
  /** logProbs (T, N, C) float32 */
  T, N, C, LP,
  /** the labels (int32), each sample's first label's index in them, its label count, its valid steps (int32 N each); the blank */
  TARGETS, OFFSETS, TLEN, ILEN, BLANK,
  /** out: each sample's negative log-likelihood (float64 N; NaN: recompute it in log space), and the gradient (T, N, C) float32, or 0 */
  NLL, GRAD,
  /** each thread's workspace and its bytes; threads */
  WS, WSB, NTH,
  COUNT,
}

/**
 * The argument block of additiveScores and additiveScoresBackward (attention.ts): Bahdanau's
 * scores[n, s] = sum_h v[h] tanh(q[n, h] + k[n, s, h]).
 */
export const enum Attn {
  /** N rows of queries, S keys each, H features; q (N, H), k (N, S, H), v (H) */
  N, S, H, Q, K, V,
  /** forward: the scores (N, S), and the tanh values (N, S, H) for backward or 0 */
  SCORES, ACT,
  /** backward: the scores' gradient (N, S) in; dq (N, H), dk (N, S, H) or 0, and dv (H) or 0 out, each row's share of dv (N, H) as scratch */
  G, DQ, DK, DV, DVROWS,
  /** threads: how many, the pool's control words (for the barrier before dv's sum) */
  NTH, CTRL,
  /**
   * additiveAttention: the values (N, S, H) the weights average, a pointer to the scores' bias (one
   * float32), the mask (N, S int32, 1 = not attended; 0 for none); out: the weights (N, S) and the
   * context (N, H). Backward reads q, K, V, VALUES and WEIGHTS, and the gradients of the context
   * (N, H) and of the weights (N, S, or 0); writes DQ, DK, DVALUES (N, S, H) or 0, DV or 0; DSCORES
   * (N, S) the scores' gradient, DBROWS (N) each row's share of the bias's gradient.
   */
  VALUES, BIAS, MASK, WEIGHTS, CONTEXT, DCONTEXT, DWEIGHTS, DVALUES, DSCORES, DBROWS,
  COUNT,
}

/**
 * The argument block of decoderForward and decoderBackward (decoder.ts): a recurrent decoder with
 * additive attention and input feeding over T steps of N rows (src/backend/reference/decoder.ts is
 * the specification). Legend: E a step's input width, H hidden (the keys' and context's width),
 * S keys a row, GH = G * H. The weights come packed as the products read them: Wx and Wc are
 * W_ih's columns of the input and of the context.
 */
export const enum Dec {
  /** the kind of cell (CellKernel), the sizes */
  KIND, T, N, E, H, S,
  /** x (T, N, E), h0 and c0 (N, H; c0 0 unless LSTM), the keys and their projection time-major (S, N, H), the mask (N, S int32) or 0 */
  X, H0, C0, KEYS, PK, MASK,
  /** the weights as stored: W_ih (GH, E + H), W_hh (GH, H), Wa (H, H); the biases (0: none), Va's weights (H) and a pointer to its bias (one float32) */
  WIH, WHH, WA, BIH, BHH, BA, VA, VB,
  /** forward: room for Wx^T, Wc^T, Whh^T and Wa^T packed (the threads pack them first) */
  WXP, WCP, WHP, WAP,
  /** forward writes, backward reads: h (T, N, H), the activated gates (T, N, GH), LSTM c and tanh(c), GRU's hn (T, N, H), the queries (T, N, H), the weights (T, N, S) and contexts (T, N, H) */
  OUT, GATES, C, TC, HN, Q, WTS, CTX,
  /** forward scratch: one step's h @ Whh^T (N, GH) */
  HH,
  /** backward in: the gradients of out and of the contexts (T, N, H) and of the weights (T, N, S), each or 0; DH dhN in, dh0 out (N, H); DC likewise (LSTM) */
  DOUT, DCTXIN, DWTS, DH, DC,
  /** backward: room for Whh, Wc, Wa and Wx packed as the right operands of dA @ Whh, dAx @ Wc, dq @ Wa and dAx @ Wx */
  WHB, WCB, WAB, WXB,
  /** backward scratch: the gate gradients (T, N, GH; GRU's recurrent side apart), the queries' gradients (T, N, H), a step's context gradient (N, H), its scores' (N, S), h_{t-1} of every step (T, N, H) */
  DAX, DAH, DQ, DCS, DSC, HPREV,
  /** per row sums over the steps: of the gate gradients (N, GH, both sides), of dq (N, H), of Va's gradient (N, H), of its bias's (N) */
  ACCX, ACCH, ACCQ, DVAR, DVBR,
  /** backward out: dx (T, N, E), the keys' and the projected keys' gradients (S, N, H), dWx (GH, E), dWc (GH, H), dWhh (GH, H), dWa (H, H), the biases' (or 0), dVa (H), dVb (one float32) */
  DX, DKEYS, DPK, DWX, DWC, DWHH, DWA, DBIH, DBHH, DBA, DVA, DVB,
  /** threads: how many, the pool's control words, the workspaces (WSB bytes each) */
  NTH, CTRL, WS, WSB,
  COUNT,
}

/** Slot i of an argument block (or field i of a record), as the kernels read it. */
// @ts-ignore: decorator
@inline export function arg(block: usize, i: i32): i32 {
  return load<i32>(block + <usize>i * 4);
}

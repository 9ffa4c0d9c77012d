// A recurrent decoder with additive attention and input feeding, float32, all its steps in one
// call each way (src/backend/reference/decoder.ts is the specification: the same steps op by op).
//
// Legend: T steps, N rows, E a step's input width, H hidden (the keys' and context's width), S keys
// a row, G gates, GH = G*H. All pointers are byte addresses.
//
// Threads split the rows: a row's query, attention and cell step read only that row (and the
// weights), so the steps need no barrier, and each row's arithmetic is the same whatever thread
// runs it (the packed products sum each row as it would alone). Backward's weight gradients are
// products over every step and row after one barrier, split by whole output elements; the
// per-row sums are summed in row order. Results are therefore identical for any thread count.
import { gemmShare, gemmPacked, packBShareLd } from './gemm';
import { Dec, CellKernel, arg } from './abi';
import { barrier } from './barrier';
import { colSum, share4, addInto } from './simd';
import { gatesOf, rowForward, lstmRowBackward, gruRowBackward, rnnRowBackward } from './gates';
import { attendRow, attendRowBackward } from './attention';

/** Thread tid's rows of every step forward; see the slots of Dec. */
export function decoderForward(args: usize, tid: i32): void {
  const kind = arg(args, Dec.KIND), T = arg(args, Dec.T), N = arg(args, Dec.N), E = arg(args, Dec.E), H = arg(args, Dec.H), S = arg(args, Dec.S);
  const x = <usize>arg(args, Dec.X), h0 = <usize>arg(args, Dec.H0), c0 = <usize>arg(args, Dec.C0);
  const keys = <usize>arg(args, Dec.KEYS), pk = <usize>arg(args, Dec.PK), mask = <usize>arg(args, Dec.MASK);
  const wxp = <usize>arg(args, Dec.WXP), wcp = <usize>arg(args, Dec.WCP), whp = <usize>arg(args, Dec.WHP), wap = <usize>arg(args, Dec.WAP);
  const wih = <usize>arg(args, Dec.WIH), whh = <usize>arg(args, Dec.WHH), wa = <usize>arg(args, Dec.WA);
  const bih = <usize>arg(args, Dec.BIH), bhh = <usize>arg(args, Dec.BHH), ba = <usize>arg(args, Dec.BA), va = <usize>arg(args, Dec.VA);
  const vb = load<f32>(<usize>arg(args, Dec.VB));
  const out = <usize>arg(args, Dec.OUT), gates = <usize>arg(args, Dec.GATES), cAll = <usize>arg(args, Dec.C), tcAll = <usize>arg(args, Dec.TC), hnAll = <usize>arg(args, Dec.HN);
  const qAll = <usize>arg(args, Dec.Q), wts = <usize>arg(args, Dec.WTS), ctx = <usize>arg(args, Dec.CTX), hh = <usize>arg(args, Dec.HH);
  const nth = arg(args, Dec.NTH), ctrl = <usize>arg(args, Dec.CTRL);
  const ws = <usize>arg(args, Dec.WS) + <usize>tid * <usize>arg(args, Dec.WSB);
  const GH = gatesOf(kind) * H;
  // the products' right operands, packed by every thread's share of panels: Wx^T and Wc^T are W_ih's column blocks
  packBShareLd(wih, true, E + H, E, GH, wxp, tid, nth);
  packBShareLd(wih + <usize>E * 4, true, E + H, H, GH, wcp, tid, nth);
  packBShareLd(whh, true, H, H, GH, whp, tid, nth);
  packBShareLd(wa, true, H, H, H, wap, tid, nth);
  if (nth > 1) barrier(ctrl, nth);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  const R = n1 - n0;
  if (R <= 0) return;
  // the step inputs' share of every step's gates: x_t @ Wx^T
  for (let t = 0; t < T; t++) gemmPacked(false, R, GH, E, x + <usize>((t * N + n0) * E) * 4, E, wxp, gates + <usize>((t * N + n0) * GH) * 4, false, ws);
  let hp = h0, cp = c0;
  for (let t = 0; t < T; t++) {
    // q = h_{t-1} @ Wa^T + ba (every row starting as the bias)
    const qr = qAll + <usize>((t * N + n0) * H) * 4;
    if (ba) for (let n = 0; n < R; n++) memory.copy(qr + <usize>(n * H) * 4, ba, <usize>H * 4);
    gemmPacked(false, R, H, H, hp + <usize>(n0 * H) * 4, H, wap, qr, ba != 0, ws);
    for (let n = n0; n < n1; n++) {
      const kv = <usize>(n * H) * 4;
      attendRow(qAll + <usize>((t * N + n) * H) * 4, pk + kv, keys + kv, N * H, va, vb, mask ? mask + <usize>(n * S) * 4 : 0, S, H,
        wts + <usize>((t * N + n) * S) * 4, ctx + <usize>((t * N + n) * H) * 4);
    }
    // the context's share of the gates, then h_{t-1} @ Whh^T, then the cell
    const gt = gates + <usize>((t * N + n0) * GH) * 4;
    gemmPacked(false, R, GH, H, ctx + <usize>((t * N + n0) * H) * 4, H, wcp, gt, true, ws);
    gemmPacked(false, R, GH, H, hp + <usize>(n0 * H) * 4, H, whp, hh + <usize>(n0 * GH) * 4, false, ws);
    for (let n = n0; n < n1; n++) {
      const k = <usize>((t * N + n) * H) * 4;
      rowForward(kind, gates + <usize>((t * N + n) * GH) * 4, hh + <usize>(n * GH) * 4, bih, bhh, hp + <usize>(n * H) * 4, cp + <usize>(n * H) * 4,
        cAll + k, tcAll + k, hnAll + k, out + k, H, H);
    }
    hp = out + <usize>(t * N * H) * 4;
    if (kind == CellKernel.LSTM) cp = cAll + <usize>(t * N * H) * 4;
  }
}

/** Thread tid's rows of every step backward, then its share of the weight gradients; see the slots of Dec. */
export function decoderBackward(args: usize, tid: i32): void {
  const kind = arg(args, Dec.KIND), T = arg(args, Dec.T), N = arg(args, Dec.N), E = arg(args, Dec.E), H = arg(args, Dec.H), S = arg(args, Dec.S);
  const x = <usize>arg(args, Dec.X), h0 = <usize>arg(args, Dec.H0), c0 = <usize>arg(args, Dec.C0);
  const keys = <usize>arg(args, Dec.KEYS), pk = <usize>arg(args, Dec.PK), va = <usize>arg(args, Dec.VA);
  const out = <usize>arg(args, Dec.OUT), gates = <usize>arg(args, Dec.GATES), cAll = <usize>arg(args, Dec.C), tcAll = <usize>arg(args, Dec.TC), hnAll = <usize>arg(args, Dec.HN);
  const qAll = <usize>arg(args, Dec.Q), wts = <usize>arg(args, Dec.WTS), ctx = <usize>arg(args, Dec.CTX);
  const dOut = <usize>arg(args, Dec.DOUT), dCtxIn = <usize>arg(args, Dec.DCTXIN), dWts = <usize>arg(args, Dec.DWTS);
  const dh = <usize>arg(args, Dec.DH), dc = <usize>arg(args, Dec.DC);
  const whb = <usize>arg(args, Dec.WHB), wcb = <usize>arg(args, Dec.WCB), wab = <usize>arg(args, Dec.WAB), wxb = <usize>arg(args, Dec.WXB);
  const wih = <usize>arg(args, Dec.WIH), whh = <usize>arg(args, Dec.WHH), wa = <usize>arg(args, Dec.WA);
  const dAx = <usize>arg(args, Dec.DAX), dAh = <usize>arg(args, Dec.DAH), dqAll = <usize>arg(args, Dec.DQ), dcs = <usize>arg(args, Dec.DCS), dsc = <usize>arg(args, Dec.DSC);
  const hPrev = <usize>arg(args, Dec.HPREV);
  const accX = <usize>arg(args, Dec.ACCX), accH = <usize>arg(args, Dec.ACCH), accQ = <usize>arg(args, Dec.ACCQ), dvaRows = <usize>arg(args, Dec.DVAR), dvbRows = <usize>arg(args, Dec.DVBR);
  const dx = <usize>arg(args, Dec.DX), dkeys = <usize>arg(args, Dec.DKEYS), dpk = <usize>arg(args, Dec.DPK);
  const dwx = <usize>arg(args, Dec.DWX), dwc = <usize>arg(args, Dec.DWC), dwhh = <usize>arg(args, Dec.DWHH), dwa = <usize>arg(args, Dec.DWA);
  const dbih = <usize>arg(args, Dec.DBIH), dbhh = <usize>arg(args, Dec.DBHH), dba = <usize>arg(args, Dec.DBA), dva = <usize>arg(args, Dec.DVA), dvb = <usize>arg(args, Dec.DVB);
  const nth = arg(args, Dec.NTH), ctrl = <usize>arg(args, Dec.CTRL);
  const ws = <usize>arg(args, Dec.WS) + <usize>tid * <usize>arg(args, Dec.WSB);
  const GH = gatesOf(kind) * H;
  const gru = kind == CellKernel.GRU;
  // the right operands of dA @ Whh, dAx @ Wc, dq @ Wa and dAx @ Wx, packed by every thread's share
  packBShareLd(whh, false, H, GH, H, whb, tid, nth);
  packBShareLd(wih + <usize>E * 4, false, E + H, GH, H, wcb, tid, nth);
  packBShareLd(wa, false, H, H, H, wab, tid, nth);
  packBShareLd(wih, false, E + H, GH, E, wxb, tid, nth);
  if (nth > 1) barrier(ctrl, nth);
  const n0 = (N * tid) / nth, n1 = (N * (tid + 1)) / nth;
  const R = n1 - n0;
  if (R > 0) {
    // this thread's rows of the sums over the steps
    for (let s = 0; s < S; s++) {
      memory.fill(dkeys + <usize>((s * N + n0) * H) * 4, 0, <usize>(R * H) * 4);
      memory.fill(dpk + <usize>((s * N + n0) * H) * 4, 0, <usize>(R * H) * 4);
    }
    memory.fill(accX + <usize>(n0 * GH) * 4, 0, <usize>(R * GH) * 4);
    if (gru) memory.fill(accH + <usize>(n0 * GH) * 4, 0, <usize>(R * GH) * 4);
    memory.fill(accQ + <usize>(n0 * H) * 4, 0, <usize>(R * H) * 4);
    memory.fill(dvaRows + <usize>(n0 * H) * 4, 0, <usize>(R * H) * 4);
    for (let t = T - 1; t >= 0; t--) {
      if (dOut) addInto(dh + <usize>(n0 * H) * 4, dOut + <usize>((t * N + n0) * H) * 4, R * H);
      const hp = t > 0 ? out + <usize>((t - 1) * N * H) * 4 : h0;
      const cp = t > 0 ? cAll + <usize>((t - 1) * N * H) * 4 : c0;
      for (let n = n0; n < n1; n++) {
        const row = gates + <usize>((t * N + n) * GH) * 4, drow = dAx + <usize>((t * N + n) * GH) * 4;
        const sk = <usize>((t * N + n) * H) * 4, kk = <usize>(n * H) * 4;
        const ax = accX + <usize>(n * GH) * 4;
        if (kind == CellKernel.LSTM) lstmRowBackward(row, drow, tcAll + sk, cp + kk, dh + kk, dc + kk, H, ax);
        else if (gru) gruRowBackward(row, drow, dAh + <usize>((t * N + n) * GH) * 4, hnAll + sk, hp + kk, dh + kk, H, ax, accH + <usize>(n * GH) * 4);
        else rnnRowBackward(drow, out + sk, dh + kk, H, kind == CellKernel.RNN_RELU, ax);
      }
      // dh_{t-1} through the cell: dA @ Whh (GRU's adds onto the z dh its rows left there)
      gemmPacked(false, R, H, GH, (gru ? dAh : dAx) + <usize>((t * N + n0) * GH) * 4, GH, whb, dh + <usize>(n0 * H) * 4, gru, ws);
      // the context's gradient: dAx @ Wc, plus what came from outside
      const dcr = dcs + <usize>(n0 * H) * 4;
      if (dCtxIn) memory.copy(dcr, dCtxIn + <usize>((t * N + n0) * H) * 4, <usize>(R * H) * 4);
      gemmPacked(false, R, H, GH, dAx + <usize>((t * N + n0) * GH) * 4, GH, wcb, dcr, dCtxIn != 0, ws);
      for (let n = n0; n < n1; n++) {
        const kv = <usize>(n * H) * 4, qo = <usize>((t * N + n) * H) * 4;
        const b = attendRowBackward(qAll + qo, pk + kv, keys + kv, N * H, va, wts + <usize>((t * N + n) * S) * 4, dcs + <usize>(n * H) * 4,
          dWts ? dWts + <usize>((t * N + n) * S) * 4 : 0, S, H, dsc + <usize>(n * S) * 4, dqAll + qo, dpk + kv, dkeys + kv, dvaRows + <usize>(n * H) * 4, true);
        store<f32>(dvbRows + <usize>n * 4, (t == T - 1 ? <f32>0 : load<f32>(dvbRows + <usize>n * 4)) + b);
        addInto(accQ + <usize>(n * H) * 4, dqAll + qo, H);
      }
      // dh_{t-1} through the query: += dq @ Wa
      gemmPacked(false, R, H, H, dqAll + <usize>((t * N + n0) * H) * 4, H, wab, dh + <usize>(n0 * H) * 4, true, ws);
    }
  }
  // h_{t-1} of every step (this thread's steps), for dWhh and dWa
  for (let t = (T * tid) / nth; t < (T * (tid + 1)) / nth; t++) {
    memory.copy(hPrev + <usize>(t * N * H) * 4, t == 0 ? h0 : out + <usize>((t - 1) * N * H) * 4, <usize>(N * H) * 4);
  }
  if (nth > 1) barrier(ctrl, nth);
  const TN = T * N;
  // dx: this thread's rows of every step
  const r0 = (TN * tid) / nth, r1 = (TN * (tid + 1)) / nth;
  gemmPacked(false, r1 - r0, E, GH, dAx + <usize>(r0 * GH) * 4, GH, wxb, dx + <usize>(r0 * E) * 4, false, ws);
  gemmShare(true, false, GH, E, TN, dAx, x, dwx, false, ws, tid, nth);
  gemmShare(true, false, GH, H, TN, dAx, ctx, dwc, false, ws, tid, nth);
  gemmShare(true, false, GH, H, TN, gru ? dAh : dAx, hPrev, dwhh, false, ws, tid, nth);
  gemmShare(true, false, H, H, TN, dqAll, hPrev, dwa, false, ws, tid, nth);
  const j0 = share4(GH, tid, nth), j1 = share4(GH, tid + 1, nth);
  if (dbih) colSum(accX, N, GH, dbih, j0, j1);
  if (dbhh) colSum(gru ? accH : accX, N, GH, dbhh, j0, j1);
  const k0 = share4(H, tid, nth), k1 = share4(H, tid + 1, nth);
  if (dba) colSum(accQ, N, H, dba, k0, k1);
  colSum(dvaRows, N, H, dva, k0, k1);
  if (tid == 0) {
    let sum: f32 = 0;
    for (let n = 0; n < N; n++) sum += load<f32>(dvbRows + <usize>n * 4);
    store<f32>(dvb, sum);
  }
}

import type { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';
import { getBackend } from '../backend/backend.js';
import { Optimizer, type ParamGroupInput, type ParamState, checkLr, checkRange } from './optimizer.js';

/** Hyper-parameters of `SGD` (PyTorch's names in camelCase). */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

/** Stochastic gradient descent with optional momentum (PyTorch's form: buf = m buf + (1 - dampening) g), Nesterov and weight decay. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Iterable<Tensor> | readonly ParamGroupInput<SGDOptions>[], options: SGDOptions) {
    if (!options || typeof options !== 'object') throw new Error('SGD: options with at least lr are required');
    const known = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'];
    for (const k of Object.keys(options)) if (!known.includes(k)) throw new Error(`SGD: unknown option '${k}' (known options: ${known.join(', ')})`);
    super('SGD', params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...options }, (o) => {
      checkLr(o.lr, 'SGD');
      checkRange(o.momentum, 'momentum', 0, Infinity, 'SGD');
      checkRange(o.weightDecay, 'weightDecay', 0, Infinity, 'SGD');
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
    });
  }
  protected update(p: FloatArray, g: FloatArray, st: ParamState, o: Required<SGDOptions>): void {
    const { lr, momentum, dampening, weightDecay: wd, nesterov, maximize } = o;
    const first = st.momentum_buffer === undefined;
    const buf = momentum !== 0 ? this.buffer(st, 'momentum_buffer', p) : null;
    for (let i = 0; i < p.length; i++) {
      let d = maximize ? -g[i]! : g[i]!;
      if (wd !== 0) d += wd * p[i]!;
      if (buf) {
        buf[i] = first ? d : momentum * buf[i]! + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i]! : buf[i]!;
      }
      p[i] = p[i]! - lr * d;
    }
  }
}

/** Hyper-parameters of `Adam` and `AdamW`. */
export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

function validateAdam(who: string) {
  return (o: Required<AdamOptions>): void => {
    checkLr(o.lr, who);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) throw new Error(`${who}: betas must be a pair [beta1, beta2], got ${String(o.betas)}`);
    checkRange(o.betas[0], 'betas[0]', 0, 1, who);
    checkRange(o.betas[1], 'betas[1]', 0, 1, who);
    checkRange(o.eps, 'eps', 0, Infinity, who);
    checkRange(o.weightDecay, 'weightDecay', 0, Infinity, who);
  };
}

const ADAM_KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'];

function checkKeys(options: object, who: string): void {
  if (options === null || typeof options !== 'object') throw new Error(`${who}: options must be an object`);
  for (const k of Object.keys(options)) if (!ADAM_KEYS.includes(k)) throw new Error(`${who}: unknown option '${k}' (known options: ${ADAM_KEYS.join(', ')})`);
}

/** The shared Adam step; `decoupled` applies weight decay to the parameter (AdamW) instead of the gradient. */
function adamUpdate(p: FloatArray, g: FloatArray, st: ParamState, o: Required<AdamOptions>, decoupled: boolean,
  buffer: (name: string) => FloatArray): void {
  const { lr, eps, weightDecay: wd, amsgrad, maximize } = o;
  const [b1, b2] = o.betas;
  const step = ((st.step as number | undefined) ?? 0) + 1;
  st.step = step;
  getBackend().adamStep(p, g, buffer('exp_avg'), buffer('exp_avg_sq'), amsgrad ? buffer('max_exp_avg_sq') : null, {
    beta1: b1,
    beta2: b2,
    stepSize: lr / (1 - Math.pow(b1, step)),
    bc2Sqrt: Math.sqrt(1 - Math.pow(b2, step)),
    eps,
    sign: maximize ? -1 : 1,
    l2: decoupled ? 0 : wd,
    shrink: decoupled && wd !== 0 ? 1 - lr * wd : 1,
  });
}

/** Adam (Kingma & Ba), PyTorch's defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, L2 weight decay 0. */
export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | readonly ParamGroupInput<AdamOptions>[], options: AdamOptions = {}) {
    checkKeys(options, 'Adam');
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...options }, validateAdam('Adam'));
  }
  protected update(p: FloatArray, g: FloatArray, st: ParamState, o: Required<AdamOptions>): void {
    adamUpdate(p, g, st, o, false, (n) => this.buffer(st, n, p));
  }
}

/** AdamW (Loshchilov & Hutter): decoupled weight decay, PyTorch's defaults (weightDecay 1e-2). */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Tensor> | readonly ParamGroupInput<AdamOptions>[], options: AdamOptions = {}) {
    checkKeys(options, 'AdamW');
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...options }, validateAdam('AdamW'));
  }
  protected update(p: FloatArray, g: FloatArray, st: ParamState, o: Required<AdamOptions>): void {
    adamUpdate(p, g, st, o, true, (n) => this.buffer(st, n, p));
  }
}

/** Hyper-parameters of `RMSprop`. */
export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

/** RMSprop, PyTorch's form and defaults: lr 1e-2, alpha 0.99, eps 1e-8 added outside the square root. */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Iterable<Tensor> | readonly ParamGroupInput<RMSpropOptions>[], options: RMSpropOptions = {}) {
    const known = ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize'];
    if (options === null || typeof options !== 'object') throw new Error('RMSprop: options must be an object');
    for (const k of Object.keys(options)) if (!known.includes(k)) throw new Error(`RMSprop: unknown option '${k}' (known options: ${known.join(', ')})`);
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...options }, (o) => {
      checkLr(o.lr, 'RMSprop');
      checkRange(o.alpha, 'alpha', 0, 1, 'RMSprop', false);
      checkRange(o.eps, 'eps', 0, Infinity, 'RMSprop');
      checkRange(o.momentum, 'momentum', 0, Infinity, 'RMSprop');
      checkRange(o.weightDecay, 'weightDecay', 0, Infinity, 'RMSprop');
    });
  }
  protected update(p: FloatArray, g: FloatArray, st: ParamState, o: Required<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay: wd, momentum, centered, maximize } = o;
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    const sq = this.buffer(st, 'square_avg', p);
    const gAvg = centered ? this.buffer(st, 'grad_avg', p) : null;
    const buf = momentum > 0 ? this.buffer(st, 'momentum_buffer', p) : null;
    for (let i = 0; i < p.length; i++) {
      let gi = maximize ? -g[i]! : g[i]!;
      if (wd !== 0) gi += wd * p[i]!;
      sq[i] = alpha * sq[i]! + (1 - alpha) * gi * gi;
      let avg: number;
      if (gAvg) {
        gAvg[i] = alpha * gAvg[i]! + (1 - alpha) * gi;
        avg = Math.sqrt(sq[i]! - gAvg[i]! * gAvg[i]!) + eps;
      } else avg = Math.sqrt(sq[i]!) + eps;
      if (buf) {
        buf[i] = momentum * buf[i]! + gi / avg;
        p[i] = p[i]! - lr * buf[i]!;
      } else p[i] = p[i]! - lr * (gi / avg);
    }
  }
}

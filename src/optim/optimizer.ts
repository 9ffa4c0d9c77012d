import { Tensor } from '../tensor/tensor.js';
import { allocLike, type FloatArray } from '../tensor/dtype.js';

/** Hyper-parameters every optimizer has. */
export interface BaseOptimizerOptions {
  lr?: number;
}

/** A group of parameters with its own hyper-parameters (those not given come from the defaults). */
export type ParamGroupInput<O> = { params: Iterable<Tensor> } & Partial<O>;

/** A parameter group with every hyper-parameter resolved. */
export type ParamGroup<O> = { params: Tensor[] } & Required<O>;

/** Per-parameter optimizer state: buffers of the parameter's shape and counters. */
export type ParamState = Record<string, FloatArray | number>;

/** A serialisable snapshot of an optimizer: hyper-parameters per group and per-parameter state by position. */
export interface OptimizerStateDict {
  paramGroups: Record<string, number | boolean>[];
  state: Record<string, Record<string, number[] | number>>;
}

function isGroupList<O>(p: Iterable<Tensor> | readonly ParamGroupInput<O>[]): p is readonly ParamGroupInput<O>[] {
  return Array.isArray(p) && p.length > 0 && !(p[0] instanceof Tensor);
}

/**
 * Base of the optimizers: parameter groups, per-parameter state and `zeroGrad`. Updates run in
 * place on each parameter's data, following PyTorch's update rules step for step.
 */
export abstract class Optimizer<O extends { lr?: number }> {
  readonly paramGroups: ParamGroup<O>[];
  protected readonly state = new Map<Tensor, ParamState>();
  protected readonly who: string;

  protected constructor(who: string, params: Iterable<Tensor> | readonly ParamGroupInput<O>[], defaults: Required<O>, validate: (o: Required<O>) => void) {
    this.who = who;
    const groups: ParamGroupInput<O>[] = isGroupList(params) ? [...params] : [{ params: params as Iterable<Tensor> } as ParamGroupInput<O>];
    const known = Object.keys(defaults);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (g === null || typeof g !== 'object' || !g.params) throw new Error(`${who}: parameter group ${gi} needs a 'params' list`);
      for (const k of Object.keys(g)) if (k !== 'params' && !known.includes(k)) throw new Error(`${who}: unknown option '${k}' (known options: ${known.join(', ')})`);
      const list = [...g.params];
      list.forEach((p, i) => {
        if (!(p instanceof Tensor)) throw new Error(`${who}: parameter ${i} of group ${gi} is not a Tensor`);
        if (p.dtype === 'int32') throw new Error(`${who}: parameter ${i} of group ${gi} is int32; only floating-point tensors can be optimized`);
        if (!p.requiresGrad) throw new Error(`${who}: parameter ${i} of group ${gi} does not require gradients`);
        if (seen.has(p)) throw new Error(`${who}: a parameter appears more than once`);
        seen.add(p);
      });
      const { params: _p, ...overrides } = g;
      const resolved = { ...defaults, ...overrides } as Required<O>;
      validate(resolved);
      return { params: list, ...resolved } as ParamGroup<O>;
    });
    if (seen.size === 0) throw new Error(`${who}: got an empty parameter list`);
  }

  /** Clears every parameter's gradient (sets it to null, PyTorch's default). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** The learning rate of the first group; setting it sets every group's. */
  get lr(): number {
    return (this.paramGroups[0] as { lr: number }).lr;
  }
  set lr(v: number) {
    if (typeof v !== 'number' || !(v >= 0)) throw new Error(`${this.who}: lr must be a non-negative number, got ${v}`);
    for (const g of this.paramGroups) (g as { lr: number }).lr = v;
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        let st = this.state.get(p);
        if (!st) {
          st = {};
          this.state.set(p, st);
        }
        this.update(p.data as FloatArray, p.grad.data as FloatArray, st, g);
        p.markModified();
      }
    }
  }

  /** One parameter's update: param and state buffers are modified in place. */
  protected abstract update(param: FloatArray, grad: FloatArray, state: ParamState, group: Required<O>): void;

  /** A zero buffer shaped like `like`, created in `state` on first use. */
  protected buffer(state: ParamState, name: string, like: FloatArray): FloatArray {
    let b = state[name];
    if (!b || typeof b === 'number') {
      b = allocLike(like, like.length);
      state[name] = b;
    }
    return b;
  }

  /** Hyper-parameters and state, for checkpoints. */
  stateDict(): OptimizerStateDict {
    const all = this.paramGroups.flatMap((g) => g.params);
    const state: OptimizerStateDict['state'] = {};
    all.forEach((p, i) => {
      const st = this.state.get(p);
      if (!st) return;
      state[i] = Object.fromEntries(Object.entries(st).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)]));
    });
    const paramGroups = this.paramGroups.map(({ params: _p, ...rest }) => rest as unknown as Record<string, number | boolean>);
    return { paramGroups, state };
  }

  /** Restores what `stateDict` returned, for the same parameters in the same order. */
  loadStateDict(sd: OptimizerStateDict): void {
    const who = `${this.who}.loadStateDict`;
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') throw new Error(`${who}: expected { paramGroups, state }`);
    if (sd.paramGroups.length !== this.paramGroups.length) throw new Error(`${who}: has ${sd.paramGroups.length} parameter groups, expected ${this.paramGroups.length}`);
    const all = this.paramGroups.flatMap((g) => g.params);
    for (const [k, st] of Object.entries(sd.state)) {
      const p = all[Number(k)];
      if (!p) throw new Error(`${who}: state for parameter ${k}, but there are only ${all.length}`);
      const restored: ParamState = {};
      for (const [name, v] of Object.entries(st)) {
        if (typeof v === 'number') restored[name] = v;
        else {
          if (v.length !== p.size) throw new Error(`${who}: buffer '${name}' of parameter ${k} has ${v.length} values, expected ${p.size}`);
          const b = allocLike(p.data as FloatArray, p.size);
          b.set(v);
          restored[name] = b;
        }
      }
      this.state.set(p, restored);
    }
    sd.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i]!, g));
  }
}

export function checkLr(lr: number, who: string): void {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`${who}: lr must be a non-negative number, got ${String(lr)}`);
}

export function checkRange(v: number, name: string, lo: number, hi: number, who: string, hiOpen = true): void {
  if (typeof v !== 'number' || !(v >= lo && (hiOpen ? v < hi : v <= hi))) throw new Error(`${who}: ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${String(v)}`);
}

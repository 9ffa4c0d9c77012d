import { Tensor } from '../tensor/tensor.js';
import { convert, type DType } from '../tensor/dtype.js';
import { formatShape, shapeEquals } from '../tensor/shape.js';

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Require exactly the module's entries (default true): missing or unexpected names throw. */
  strict?: boolean;
}

/**
 * Base of every layer. Parameters and submodules are registered by name, in order; nested
 * names join with dots (`rnn.weight_ih_l0`), as in PyTorch's `state_dict`.
 */
export class Module {
  /** True in training mode (dropout active), false after `eval()`. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter under `name` (it is made to require gradients). */
  protected registerParameter(name: string, t: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`${this.constructor.name}: '${name}' is registered twice`);
    if (t.dtype === 'int32') throw new Error(`${this.constructor.name}: parameter '${name}' must be floating-point`);
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  /** Registers a submodule under `name`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`${this.constructor.name}: '${name}' is registered twice`);
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}: submodule '${name}' must be a Module`);
    this.children.set(name, m);
    return m;
  }

  /** The parameter registered under `name` on this module (not nested). */
  protected param(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`${this.constructor.name}: no parameter '${name}'`);
    return p;
  }

  /** Every parameter with its dotted name: this module's own first, then each submodule's. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Direct submodules with their names. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** The number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Every parameter by dotted name, sharing storage with the module (detached from the graph). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, p] of this.namedParameters()) out[n] = new Tensor(p.data, p.shape);
    return out;
  }

  /**
   * Copies values into the parameters by name (converted to each parameter's dtype). Strict by
   * default: a missing, unexpected or mis-shaped entry throws, naming it; nothing is changed then.
   */
  loadStateDict(state: Record<string, Tensor>, options: LoadStateDictOptions = {}): void {
    const who = `${this.constructor.name}.loadStateDict`;
    if (state === null || typeof state !== 'object') throw new Error(`${who}: expected an object of tensors by name, got ${state === null ? 'null' : typeof state}`);
    const strict = options.strict ?? true;
    const own = new Map(this.namedParameters());
    const problems: string[] = [];
    for (const [name, p] of own) {
      const v = state[name];
      if (v === undefined) {
        if (strict) problems.push(`missing entry '${name}' (expected shape ${formatShape(p.shape)})`);
        continue;
      }
      if (!(v instanceof Tensor)) problems.push(`entry '${name}' is not a Tensor`);
      else if (!shapeEquals(v.shape, p.shape)) problems.push(`entry '${name}' has shape ${formatShape(v.shape)}, expected ${formatShape(p.shape)}`);
      else if (v.dtype === 'int32') problems.push(`entry '${name}' is int32, expected a floating-point tensor`);
    }
    if (strict) {
      for (const name of Object.keys(state)) if (!own.has(name)) problems.push(`unexpected entry '${name}'`);
    }
    if (problems.length) throw new Error(`${who}: ${problems.join('; ')}`);
    for (const [name, p] of own) {
      const v = state[name];
      if (v) {
        p.data.set(v.dtype === p.dtype ? v.data : convert(v.data, p.dtype));
        p.markModified();
      }
    }
  }

  /** Sets training mode here and in every submodule. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  /** Evaluation mode: dropout off. */
  eval(): this {
    return this.train(false);
  }

  /** Converts every parameter in place to `dtype` (float32 or float64). */
  to(dtype: DType): this {
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${this.constructor.name}.to: dtype must be 'float32' or 'float64', got ${String(dtype)}`);
    for (const [, p] of this.namedParameters()) {
      if (p.dtype !== dtype) {
        p.setData(convert(p.data, dtype));
        p.grad = null;
      }
    }
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** The parameters' dtype (float32 unless converted). */
  get dtype(): DType {
    const first = this.params.values().next().value ?? this.parameters()[0];
    return first ? first.dtype : 'float32';
  }
}

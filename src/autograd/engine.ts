/**
 * Reverse-mode automatic differentiation over a tape. Every recorded operation is a node
 * holding its inputs and a backward rule; `backward` walks the nodes in reverse topological
 * order, sums the gradients that reach each output, and accumulates (+=) into leaves' `.grad`.
 */
import { Tensor, type GradNode, type BackwardOptions } from '../tensor/tensor.js';
import { shapeEquals, formatShape } from '../tensor/shape.js';
import { allocLike, type FloatArray } from '../tensor/dtype.js';
import { getBackend } from '../backend/backend.js';

let gradEnabled = true;

/** Whether operations are being recorded for autograd. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording operations (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an operation on these inputs must be recorded. */
export function needsGrad(...inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

export type BackwardRule = (gradOutputs: readonly (Tensor | null)[]) => readonly (Tensor | null)[];

class Node implements GradNode {
  private rule: BackwardRule | null;
  constructor(readonly name: string, readonly inputs: readonly Tensor[], readonly numOutputs: number, rule: BackwardRule,
    private onRelease: (() => void) | null) {
    this.rule = rule;
  }
  backward(gradOutputs: readonly (Tensor | null)[]): readonly (Tensor | null)[] {
    if (!this.rule) {
      throw new Error(`backward: the graph through '${this.name}' was already freed by an earlier backward(); pass { retainGraph: true } to the first call to backward through it twice`);
    }
    return this.rule(gradOutputs);
  }
  release(): void {
    this.rule = null;
    const f = this.onRelease;
    this.onRelease = null;
    if (f) f();
  }
}

/**
 * Records `outputs` as produced from `inputs` by one operation with the given backward rule.
 * The rule receives one gradient per output (null where none arrived) and returns one per input.
 * Call only when `needsGrad(...inputs)`. `onRelease` runs once the node is released (after a
 * backward that does not retain the graph), to free memory its rule held.
 */
export function record(name: string, inputs: readonly Tensor[], outputs: readonly Tensor[], rule: BackwardRule,
  onRelease: (() => void) | null = null): void {
  const node = new Node(name, inputs, outputs.length, rule, onRelease);
  outputs.forEach((o, i) => {
    o.gradFn = node;
    (o as { outputIndex: number }).outputIndex = i;
    o.requiresGrad = true;
  });
}

/**
 * For a backward rule: the array a leaf's gradient accumulates in, when the rule may add its
 * gradient there itself (and return null for that input) instead of handing the engine a new
 * array to add: a weight used at every step of a decoder gets one array, not one per step. Only
 * leaves that require gradients, whose gradient (made here as zeros if it has none yet) has
 * their own dtype and shape; null otherwise.
 */
export function gradSink(t: Tensor, dtype: 'float32' | 'float64'): FloatArray | null {
  if (t.gradFn || !t.requiresGrad || t.dtype !== dtype) return null;
  if (!t.grad) t.grad = new Tensor(allocLike(t.data as FloatArray, t.size), t.shape);
  else if (t.grad.dtype !== dtype || !shapeEquals(t.grad.shape, t.shape)) return null;
  return t.grad.data as FloatArray;
}

/** Convenience: builds the output tensor of a single-output op and records it when needed. */
export function result(name: string, data: FloatArray, shape: readonly number[], inputs: readonly Tensor[],
  rule: (g: Tensor) => readonly (Tensor | null)[]): Tensor {
  const out = new Tensor(data, shape);
  if (needsGrad(...inputs)) record(name, inputs, [out], (gs) => (gs[0] ? rule(gs[0]) : inputs.map(() => null)));
  return out;
}

function accumulate(into: Tensor | null, g: Tensor): Tensor {
  if (!into) {
    // own copy: later accumulations write into it
    const d = allocLike(g.data as FloatArray, g.data.length);
    d.set(g.data);
    return new Tensor(d, g.shape);
  }
  const a = into.data;
  const b = g.data;
  // one loop per element type: a loop over the union of array types runs several times slower
  if (a instanceof Float32Array && b instanceof Float32Array) {
    // big float32 gradients (a layer's weights, summed over a decoder's steps) add in the backend's kernel
    if (a.length >= BACKEND_ADD_MIN) getBackend().binary('add', a, into.shape, b, into.shape, a, into.shape);
    else addInto32(a, b);
  }
  else if (a instanceof Float64Array && b instanceof Float64Array) addInto64(a, b);
  else for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return into;
}

/** From this many elements a gradient sum runs in the backend (its kernels' loops are vectorised). */
const BACKEND_ADD_MIN = 4096;

/** a + b into a new tensor of their shape (one pass: a pending gradient's first sum). */
function sumOf(a: Tensor, b: Tensor): Tensor {
  const x = a.data, y = b.data;
  const d = allocLike(x as FloatArray, x.length);
  if (d instanceof Float32Array && x instanceof Float32Array && y instanceof Float32Array) {
    if (d.length >= BACKEND_ADD_MIN) getBackend().binary('add', x, a.shape, y, b.shape, d, a.shape);
    else sum32(d, x, y);
  }
  else for (let i = 0; i < d.length; i++) d[i] = x[i]! + y[i]!;
  return new Tensor(d, a.shape);
}

function sum32(d: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < d.length; i++) d[i] = a[i]! + b[i]!;
}

function addInto32(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
}

function addInto64(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
}

/** Back-propagates from `root`; see `Tensor.backward`. */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require gradients (no input of its computation had requiresGrad, or it was computed under noGrad)');
  }
  if (!grad) {
    if (root.size !== 1) {
      throw new Error(`backward: grad can be implied only for a scalar output; this one has shape ${formatShape(root.shape)} (pass a gradient of that shape)`);
    }
    const d = allocLike(root.data as FloatArray, 1);
    d[0] = 1;
    grad = new Tensor(d, root.shape);
  } else if (!shapeEquals(grad.shape, root.shape)) {
    throw new Error(`backward: grad has shape ${formatShape(grad.shape)}, expected ${formatShape(root.shape)}`);
  }
  if (!root.gradFn) {
    root.grad = accumulate(root.grad, grad);
    return;
  }
  // topological order of the nodes reachable from root (iterative DFS: graphs can be deep)
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: [GradNode, number][] = [[root.gradFn, 0]];
  seen.add(root.gradFn);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i]!.gradFn;
      if (child && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  const pending = new Map<GradNode, (Tensor | null)[]>();
  // pending sums this backward made: later gradients add into them in place (a rule's own
  // results may be handed to several inputs, so those are never written)
  const sums = new Set<Tensor>();
  pending.set(root.gradFn, Array.from({ length: root.gradFn.numOutputs }, (_, k) => (k === root.outputIndex ? grad! : null)));
  noGrad(() => {
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]!;
      const gOut = pending.get(node);
      pending.delete(node);
      if (gOut) for (const g of gOut) if (g) sums.delete(g);
      if (!gOut || gOut.every((g) => g === null)) continue;
      const gIn = node.backward(gOut);
      if (!options.retainGraph) node.release();
      node.inputs.forEach((inp, j) => {
        const g = gIn[j];
        if (!g || !inp.requiresGrad) return;
        if (!shapeEquals(g.shape, inp.shape)) {
          throw new Error(`backward: internal error in '${node.name}': gradient of input ${j} has shape ${formatShape(g.shape)}, expected ${formatShape(inp.shape)}`);
        }
        if (inp.gradFn) {
          let slot = pending.get(inp.gradFn);
          if (!slot) {
            slot = new Array<Tensor | null>(inp.gradFn.numOutputs).fill(null);
            pending.set(inp.gradFn, slot);
          }
          const prev = slot[inp.outputIndex] ?? null;
          if (!prev) slot[inp.outputIndex] = g;
          else if (sums.has(prev)) accumulate(prev, g);
          else {
            const s = sumOf(prev, g);
            sums.add(s);
            slot[inp.outputIndex] = s;
          }
        } else {
          inp.grad = accumulate(inp.grad, g);
        }
      });
    }
  });
}

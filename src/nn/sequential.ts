/**
 * A stack of named steps applied in order: the container Keras models convert to. Each step may
 * own a module (registered under the step's name, so parameters are `lstm.weight_ih_l0`, ...).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** One step: what it does to its input, and the module holding its parameters, if any. */
export interface SequentialStep {
  name: string;
  module: Module | null;
  run: (x: Tensor) => Tensor;
}

export class Sequential extends Module {
  private readonly steps: SequentialStep[] = [];

  /** Appends a step; its module (if any) is registered under `name`. */
  add(step: SequentialStep): this {
    if (step.module) this.registerModule(step.name, step.module);
    this.steps.push(step);
    return this;
  }

  /** The steps' names, in order. */
  get stepNames(): string[] {
    return this.steps.map((s) => s.name);
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const s of this.steps) y = s.run(y);
    return y;
  }
}

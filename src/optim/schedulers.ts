import type { Optimizer } from './optimizer.js';

type AnyOptimizer = Optimizer<{ lr?: number }>;

function groupLrs(opt: AnyOptimizer): number[] {
  return opt.paramGroups.map((g) => (g as { lr: number }).lr);
}

function setLrs(opt: AnyOptimizer, lrs: readonly number[]): void {
  opt.paramGroups.forEach((g, i) => ((g as { lr: number }).lr = lrs[i]!));
}

/** Base of the epoch- or step-based schedules: `step()` advances by one and sets each group's lr. */
export abstract class LRScheduler {
  readonly baseLrs: number[];
  /** How many times step() has been called. */
  lastEpoch = 0;
  constructor(readonly optimizer: AnyOptimizer) {
    this.baseLrs = groupLrs(optimizer);
  }
  protected abstract lrAt(epoch: number, base: number): number;
  step(): void {
    this.lastEpoch++;
    setLrs(this.optimizer, this.baseLrs.map((b) => this.lrAt(this.lastEpoch, b)));
  }
  /** The learning rates now in force, one per group. */
  getLastLr(): number[] {
    return groupLrs(this.optimizer);
  }
}

function positiveInt(v: unknown, name: string, who: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${who}: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** lr = base * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    this.stepSize = positiveInt(options?.stepSize, 'stepSize', 'StepLR');
    this.gamma = options.gamma ?? 0.1;
    if (typeof this.gamma !== 'number' || !(this.gamma > 0)) throw new Error(`StepLR: gamma must be a positive number, got ${String(this.gamma)}`);
  }
  protected lrAt(epoch: number, base: number): number {
    return base * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }
}

/** lr = etaMin + (base - etaMin) (1 + cos(pi epoch / tMax)) / 2 (PyTorch's closed form). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    this.tMax = positiveInt(options?.tMax, 'tMax', 'CosineAnnealingLR');
    this.etaMin = options.etaMin ?? 0;
    if (typeof this.etaMin !== 'number' || !(this.etaMin >= 0)) throw new Error(`CosineAnnealingLR: etaMin must be a non-negative number, got ${String(this.etaMin)}`);
  }
  protected lrAt(epoch: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/** Options of `ReduceLROnPlateau`, PyTorch's defaults. */
export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number;
  eps?: number;
}

/** Multiplies lr by `factor` when the metric passed to step() has not improved for `patience` calls. */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(readonly optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    const who = 'ReduceLROnPlateau';
    const known = ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps'];
    for (const k of Object.keys(options)) if (!known.includes(k)) throw new Error(`${who}: unknown option '${k}' (known options: ${known.join(', ')})`);
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new Error(`${who}: mode must be 'min' or 'max', got ${String(this.mode)}`);
    this.factor = options.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1)) throw new Error(`${who}: factor must be in (0, 1), got ${this.factor}`);
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new Error(`${who}: thresholdMode must be 'rel' or 'abs', got ${String(this.thresholdMode)}`);
    this.cooldown = options.cooldown ?? 0;
    this.minLr = options.minLr ?? 0;
    this.eps = options.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { threshold: th, best } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - th) : a < best - th;
    return this.thresholdMode === 'rel' ? a > best * (1 + th) : a > best + th;
  }

  /** Reports the latest value of the monitored metric. */
  step(metric: number): void {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new Error(`ReduceLROnPlateau.step: metric must be a number, got ${String(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const lrs = groupLrs(this.optimizer).map((old) => {
        const nl = Math.max(old * this.factor, this.minLr);
        return old - nl > this.eps ? nl : old;
      });
      setLrs(this.optimizer, lrs);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  getLastLr(): number[] {
    return groupLrs(this.optimizer);
  }
}

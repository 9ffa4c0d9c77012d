/**
 * The training loop: `steps` optimizer steps, each drawing a batch, computing the loss,
 * back-propagating, clipping and stepping; validation every N steps; progress as events and,
 * on a terminal, a bar (step, loss, throughput, ETA) on stderr; checkpoints every N steps,
 * written atomically, and exact resume from them. Training that diverges stops with an error
 * that names the step and the remedy: a loss or gradient norm that is not finite, or (given the
 * loss of a trivial predictor) a validation loss or a report window's mean training loss far
 * worse than that predictor's.
 */
import type { Generator } from '../tensor/random.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { clipGradNorm } from '../optim/clip.js';
import { noGrad } from '../autograd/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tensor as TensorClass } from '../tensor/tensor.js';
import { saveCheckpoint, loadCheckpoint, type FitState, type CheckpointState, type CarriedState } from './checkpoint.js';

/** What `fit` reports while it runs. */
export interface FitEvent {
  type: 'step' | 'validate' | 'checkpoint' | 'stop' | 'done';
  step: number;
  /** This step's training loss. */
  loss?: number;
  /** Mean training loss over the steps since the last report. */
  meanLoss?: number;
  valLoss?: number;
  /** Work items (tokens, sequences) per second so far. */
  perSecond?: number;
  etaSeconds?: number;
  path?: string;
}

export interface FitOptions<B> {
  model: Module;
  optimizer: Optimizer<{ lr?: number }>;
  /** The total number of optimizer steps (a resumed run counts the steps already taken). */
  steps: number;
  /** The batch of step `step`, drawn from `rng`. */
  batch: (step: number, rng: Generator) => B;
  /** The loss of a batch (the model's forward included). Give this or `stateful`. */
  loss?: (batch: B) => Tensor;
  /**
   * Truncated backpropagation through time with carried state (Keras's `stateful=True`, PyTorch's
   * detach-and-carry loop), in place of `loss`: `loss` gets the state the step before ended in
   * (null at the first step and before every batch `reset` marks as starting new sequences) and
   * returns the batch's loss with its own final state. Between steps the state is detached, so
   * gradients stop at each window's start, and checkpoints keep it, so a resumed run carries on
   * exactly. Validation does not touch it.
   */
  stateful?: {
    loss: (batch: B, state: CarriedState | null) => [Tensor, CarriedState];
    reset: (batch: B, step: number) => boolean;
  };
  /** The generator batches draw from; its state goes into checkpoints. */
  rng: Generator;
  /** Work items per step for the throughput figure (default 1: steps per second). */
  itemsPerStep?: number;
  /** Clip the gradients' total norm to this. */
  clipNorm?: number;
  /** A learning-rate schedule stepped after each optimizer step. */
  scheduler?: { step(): void };
  /** Validation loss (run without gradients, the model in eval mode). */
  validate?: () => number;
  validateEvery?: number;
  /** Progress events. */
  onEvent?: (e: FitEvent) => void;
  /** Print progress to stderr (a bar on a terminal, a line per report otherwise). Default false. */
  progress?: boolean;
  /** Steps between progress reports (default 50). */
  reportEvery?: number;
  /** Write a checkpoint every `every` steps and at the end; `write` stores the bytes (atomically). */
  checkpoint?: { every: number; write: (bytes: Uint8Array) => void; extras?: () => Record<string, unknown> };
  /** Resume from these checkpoint bytes. */
  resumeFrom?: Uint8Array;
  /** Called once a checkpoint is restored, before the first step (to change, say, the learning rate). */
  onResume?: (restored: CheckpointState) => void;
  /**
   * Stop when the validation loss has not improved by more than `minDelta` (default 0) for
   * `patience` validations in a row. With `restoreBest` (default true) the model ends with the
   * weights of its best validation, whether training stopped early or ran all its steps, as Keras'
   * EarlyStopping(restore_best_weights=True). Needs `validate` and `validateEvery`.
   */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  /**
   * Stop as diverged when a validation loss, or the mean training loss of a report window, is
   * more than `factor` (default 3) times `baseline`: the loss of a trivial predictor (log(V) for
   * uniform guessing among V classes or tokens; for a forecaster, the naive forecast's error).
   */
  divergence?: { baseline: number; factor?: number };
  /**
   * What the divergence message tells the user to change (default: "lower the learning rate
   * (the optimizer's lr) or clip the gradients (clipNorm)"); a CLI names its own options.
   */
  remedy?: string;
}

/** Thrown by `fit` when training diverges; `step` is the optimizer step where it was seen. */
export class TrainingDivergedError extends Error {
  constructor(message: string, readonly step: number, readonly loss: number) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export interface FitResult {
  steps: number;
  /** Mean training loss of the last report window. */
  trainLoss: number;
  /** The last validation loss, if validated. */
  valLoss: number | null;
  /** The best validation loss and its step (the weights returned when early stopping restores them). */
  bestValLoss: number | null;
  bestStep: number | null;
  /** Whether early stopping ended training before `steps`. */
  stoppedEarly: boolean;
  seconds: number;
}

const fmt = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/** A carried state cut from its graph: the next window's gradients stop at its start. */
function detachState(s: CarriedState): CarriedState {
  if (s instanceof TensorClass) return s.detach();
  if (!Array.isArray(s) || s.some((t) => !(t instanceof TensorClass))) throw new Error('fit: stateful.loss must return [loss, state] with the state a Tensor or an array of Tensors');
  return s.map((t: Tensor) => t.detach());
}

export function fit<B>(o: FitOptions<B>): FitResult {
  const who = 'fit';
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new Error(`${who}: steps must be a non-negative integer, got ${o.steps}`);
  const es = o.earlyStopping;
  if (es) {
    if (!o.validate || !o.validateEvery) throw new Error(`${who}: earlyStopping needs validate and validateEvery`);
    if (!Number.isInteger(es.patience) || es.patience < 1) throw new Error(`${who}: earlyStopping.patience must be a positive integer, got ${es.patience}`);
    if (es.minDelta !== undefined && !(es.minDelta >= 0)) throw new Error(`${who}: earlyStopping.minDelta must be >= 0, got ${es.minDelta}`);
  }
  const dv = o.divergence;
  if (dv) {
    if (!(typeof dv.baseline === 'number' && dv.baseline > 0 && Number.isFinite(dv.baseline))) throw new Error(`${who}: divergence.baseline must be a positive finite number, got ${dv.baseline}`);
    if (dv.factor !== undefined && !(dv.factor > 1 && Number.isFinite(dv.factor))) throw new Error(`${who}: divergence.factor must be a finite number above 1, got ${dv.factor}`);
  }
  if (!o.loss === !o.stateful) throw new Error(`${who}: give either loss or stateful (with its own loss), ${o.loss ? 'not both' : 'got neither'}`);
  const remedy = o.remedy ?? "lower the learning rate (the optimizer's lr) or clip the gradients (clipNorm)";
  /** Throws when `loss` (what `what` names) is not finite or, with a baseline, far above it. */
  const checkDiverged = (loss: number, what: string, at: number): void => {
    if (!Number.isFinite(loss)) throw new TrainingDivergedError(`${who}: training diverged: ${what} is ${loss} at step ${at}; ${remedy}`, at, loss);
    if (dv && loss > (dv.factor ?? 3) * dv.baseline) {
      throw new TrainingDivergedError(`${who}: training diverged: ${what} is ${loss.toPrecision(5)} at step ${at}, more than ${dv.factor ?? 3} times a trivial predictor's ${dv.baseline.toPrecision(4)}; ${remedy}`, at, loss);
    }
  };
  let step = 0;
  let fitState: FitState = { bestValLoss: null, bestStep: null, wait: 0, carried: null };
  if (o.resumeFrom) {
    const restored = loadCheckpoint(o.resumeFrom, o.model, o.optimizer, o.rng);
    step = restored.step;
    if (restored.fit) fitState = restored.fit;
    o.onResume?.(restored);
  }
  const snapshot = (): Record<string, Tensor> => noGrad(() => Object.fromEntries(Object.entries(o.model.stateDict()).map(([k, v]) => [k, v.clone()])));
  let stoppedEarly = false;
  const params = o.model.parameters();
  const every = o.reportEvery ?? 50;
  const out = (globalThis as { process?: { stderr?: { isTTY?: boolean; write(s: string): void } } }).process?.stderr;
  const tty = !!out?.isTTY;
  const emit = (e: FitEvent): void => {
    o.onEvent?.(e);
    if (!o.progress || !out) return;
    if (e.type === 'step') {
      const line = `step ${e.step}/${o.steps}  loss ${e.meanLoss!.toFixed(4)}  ${e.perSecond!.toFixed(0)}/s  ETA ${fmt(e.etaSeconds!)}`;
      out.write(tty ? `\r${line}   ` : `${line}\n`);
    } else if (e.type === 'validate') out.write(`${tty ? '\n' : ''}step ${e.step}: validation loss ${e.valLoss!.toFixed(4)}\n`);
    else if (e.type === 'checkpoint' && tty) out.write('');
  };
  const validate = (): number => {
    o.model.eval();
    try {
      return noGrad(() => o.validate!());
    } finally {
      o.model.train();
    }
  };
  const writeCheckpoint = (): void => {
    if (!o.checkpoint) return;
    o.checkpoint.write(saveCheckpoint(o.model, o.optimizer, step, o.rng, o.checkpoint.extras?.() ?? {}, { ...fitState, trainLoss: Number.isNaN(trainLoss) ? null : trainLoss }));
    emit({ type: 'checkpoint', step });
  };
  /** Notes a validation loss; true when early stopping's patience has run out. */
  const record = (v: number): boolean => {
    if (fitState.bestValLoss === null || v < fitState.bestValLoss - (es?.minDelta ?? 0)) {
      fitState = { bestValLoss: v, bestStep: step, wait: 0, carried: fitState.carried ?? null, ...(es && (es.restoreBest ?? true) ? { best: snapshot() } : {}) };
      return false;
    }
    fitState.wait++;
    return !!es && fitState.wait >= es.patience;
  };
  o.model.train();
  const t0 = performance.now();
  const startStep = step;
  if (es && fitState.wait >= es.patience) stoppedEarly = true; // resumed from the checkpoint of an early stop
  let windowLoss = 0;
  let windowSteps = 0;
  // a resumed run that takes no step reports the loss its checkpoint recorded
  let trainLoss = fitState.trainLoss ?? NaN;
  let valLoss: number | null = null;
  while (step < o.steps && !stoppedEarly) {
    const batch = o.batch(step, o.rng);
    o.optimizer.zeroGrad();
    let loss: Tensor;
    if (o.stateful) {
      const from = o.stateful.reset(batch, step) ? null : fitState.carried ?? null;
      const [l, state] = o.stateful.loss(batch, from);
      loss = l;
      fitState.carried = detachState(state);
    } else loss = o.loss!(batch);
    const l = loss.item();
    if (!Number.isFinite(l)) checkDiverged(l, 'the training loss', step + 1);
    loss.backward();
    if (o.clipNorm !== undefined) {
      const norm = clipGradNorm(params, o.clipNorm);
      if (!Number.isFinite(norm)) checkDiverged(norm, 'the gradient norm', step + 1);
    }
    o.optimizer.step();
    o.scheduler?.step();
    step++;
    windowLoss += l;
    windowSteps++;
    if (step % every === 0 || step === o.steps) {
      const secs = (performance.now() - t0) / 1000;
      trainLoss = windowLoss / windowSteps;
      checkDiverged(trainLoss, `the mean training loss of steps ${step - windowSteps + 1}-${step}`, step);
      const rate = ((step - startStep) * (o.itemsPerStep ?? 1)) / secs;
      emit({ type: 'step', step, loss: l, meanLoss: trainLoss, perSecond: rate, etaSeconds: ((o.steps - step) * secs) / (step - startStep) });
      windowLoss = 0;
      windowSteps = 0;
    }
    if (o.validate && o.validateEvery && step % o.validateEvery === 0) {
      valLoss = validate();
      emit({ type: 'validate', step, valLoss });
      checkDiverged(valLoss, 'the validation loss', step);
      if (record(valLoss) && es) {
        stoppedEarly = true;
        emit({ type: 'stop', step, valLoss: fitState.bestValLoss ?? undefined });
        writeCheckpoint();
        if (o.progress && out) out.write(`early stop at step ${step}: no improvement for ${es.patience} validations; best ${fitState.bestValLoss!.toFixed(4)} at step ${fitState.bestStep}\n`);
        break;
      }
    }
    if (o.checkpoint && step % o.checkpoint.every === 0) writeCheckpoint();
  }
  if (o.validate && !stoppedEarly && (valLoss === null || !o.validateEvery || step % o.validateEvery !== 0)) {
    valLoss = validate();
    emit({ type: 'validate', step, valLoss });
    checkDiverged(valLoss, 'the validation loss', step);
    record(valLoss);
  }
  if (es && (es.restoreBest ?? true) && fitState.best && fitState.bestStep !== step) o.model.loadStateDict(fitState.best);
  if (o.checkpoint && !stoppedEarly && step % o.checkpoint.every !== 0) writeCheckpoint();
  const seconds = (performance.now() - t0) / 1000;
  emit({ type: 'done', step, meanLoss: trainLoss, valLoss: valLoss ?? undefined });
  if (o.progress && tty && out) out.write('\n');
  return { steps: step, trainLoss, valLoss, bestValLoss: fitState.bestValLoss, bestStep: fitState.bestStep, stoppedEarly, seconds };
}

/**
 * Training checkpoints: one .safetensors file holding the model's parameters (`model.*`), the
 * optimizer's buffers (`optim.<parameter>.<buffer>`) and, in the metadata, its counters and
 * hyper-parameters, the random generators' states, the step and the application's extras.
 * Resuming restores all of it, so a resumed run continues exactly as the uninterrupted one.
 */
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator, type GeneratorState } from '../tensor/random.js';
import type { Module } from '../nn/module.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';

export const CHECKPOINT_FORMAT = 'recurrent-checkpoint';

export interface CheckpointState {
  step: number;
  extras: Record<string, unknown>;
  /** The training loop's early-stopping state, when it had one. */
  fit?: FitState;
}

/** Early-stopping bookkeeping carried by checkpoints: the best validation so far and its weights. */
export interface FitState {
  bestValLoss: number | null;
  bestStep: number | null;
  /** Validations since the best one. */
  wait: number;
  /** The model's weights at the best validation. */
  best?: Record<string, Tensor>;
  /** The mean training loss of the last report window before the checkpoint. */
  trainLoss?: number | null;
  /** The state carried into the next step by stateful training (null after a reset or before the first step). */
  carried?: CarriedState | null;
}

/** The recurrent state stateful training carries from step to step: one tensor, or several (h and c). */
export type CarriedState = Tensor | readonly Tensor[];

/** The bytes of a checkpoint. */
export function saveCheckpoint(model: Module, optimizer: Optimizer<{ lr?: number }>, step: number, rng: Generator,
  extras: Record<string, unknown> = {}, fit?: FitState): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) tensors[`model.${k}`] = v;
  for (const [k, v] of Object.entries(fit?.best ?? {})) tensors[`best.${k}`] = v;
  const carried = fit?.carried ?? null;
  const carriedList = carried === null ? [] : carried instanceof Tensor ? [carried] : [...carried];
  carriedList.forEach((t, i) => (tensors[`carry.${i}`] = t));
  const sd = optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [i, st] of Object.entries(sd.state)) {
    for (const [name, v] of Object.entries(st)) {
      if (typeof v === 'number') (scalars[i] ??= {})[name] = v;
      else tensors[`optim.${i}.${name}`] = new Tensor(Float64Array.from(v), [v.length]);
    }
  }
  return saveSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    format_version: '1',
    step: String(step),
    optimizer_groups: JSON.stringify(sd.paramGroups),
    optimizer_scalars: JSON.stringify(scalars),
    rng: JSON.stringify(rng.getState()),
    default_rng: JSON.stringify(defaultGenerator.getState()),
    extras: JSON.stringify(extras),
    ...(fit ? {
      fit: JSON.stringify({
        bestValLoss: fit.bestValLoss, bestStep: fit.bestStep, wait: fit.wait, trainLoss: fit.trainLoss ?? null,
        // how the carried state's tensors (carry.0, carry.1, ...) are put back together
        ...(carried !== null ? { carried: carried instanceof Tensor ? 'tensor' : carriedList.length } : {}),
      }),
    } : {}),
  });
}

/** A checkpoint's step and extras, read without restoring anything (to check a resume first). */
export function readCheckpointInfo(bytes: Uint8Array): { step: number; extras: Record<string, unknown> } {
  const { metadata } = loadSafetensors(bytes);
  if (metadata['format'] !== CHECKPOINT_FORMAT) fail(`not a checkpoint (metadata format is ${metadata['format'] ?? 'missing'})`);
  const step = Number(metadata['step']);
  if (!Number.isInteger(step) || step < 0) fail(`invalid step '${metadata['step']}'`);
  let extras: Record<string, unknown>;
  try {
    extras = JSON.parse(metadata['extras'] ?? '{}') as Record<string, unknown>;
  } catch {
    fail('its metadata is not valid JSON');
  }
  return { step, extras };
}

function fail(msg: string): never {
  throw new Error(`loadCheckpoint: ${msg}`);
}

/** Restores model, optimizer and generators from checkpoint bytes; returns the step and extras. */
export function loadCheckpoint(bytes: Uint8Array, model: Module, optimizer: Optimizer<{ lr?: number }>, rng: Generator): CheckpointState {
  const { tensors, metadata } = loadSafetensors(bytes);
  if (metadata['format'] !== CHECKPOINT_FORMAT) fail(`not a checkpoint (metadata format is ${metadata['format'] ?? 'missing'})`);
  const step = Number(metadata['step']);
  if (!Number.isInteger(step) || step < 0) fail(`invalid step '${metadata['step']}'`);
  let groups: OptimizerStateDict['paramGroups'];
  let scalars: Record<string, Record<string, number>>;
  let rngState: GeneratorState;
  let defaultState: GeneratorState;
  let extras: Record<string, unknown>;
  let fit: FitState | undefined;
  try {
    if (metadata['fit'] !== undefined) fit = JSON.parse(metadata['fit']) as FitState;
    groups = JSON.parse(metadata['optimizer_groups'] ?? '') as OptimizerStateDict['paramGroups'];
    scalars = JSON.parse(metadata['optimizer_scalars'] ?? '') as Record<string, Record<string, number>>;
    rngState = JSON.parse(metadata['rng'] ?? '') as GeneratorState;
    defaultState = JSON.parse(metadata['default_rng'] ?? '') as GeneratorState;
    extras = JSON.parse(metadata['extras'] ?? '{}') as Record<string, unknown>;
  } catch {
    fail('its metadata is not valid JSON');
  }
  const modelState: Record<string, Tensor> = {};
  const state: OptimizerStateDict['state'] = {};
  const best: Record<string, Tensor> = {};
  const carry: Tensor[] = [];
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('model.')) modelState[k.slice(6)] = v;
    else if (/^carry\.\d+$/.test(k)) carry[Number(k.slice(6))] = v;
    else if (k.startsWith('best.')) best[k.slice(5)] = v;
    else if (k.startsWith('optim.')) {
      const [, i, name] = k.split('.');
      (state[i!] ??= {})[name!] = Array.from(v.data);
    } else fail(`unexpected entry '${k}'`);
  }
  for (const [i, st] of Object.entries(scalars)) Object.assign((state[i] ??= {}), st);
  try {
    model.loadStateDict(modelState);
    optimizer.loadStateDict({ paramGroups: groups, state });
    rng.setState(rngState);
    defaultGenerator.setState(defaultState);
  } catch (e) {
    fail(`it does not fit this model and optimizer: ${(e as Error).message}`);
  }
  if (fit) {
    if (typeof fit !== 'object' || !Number.isInteger(fit.wait) || fit.wait < 0) fail('its early-stopping state is invalid');
    if (Object.keys(best).length > 0) fit.best = best;
    const how = (fit as { carried?: unknown }).carried;
    if (how === undefined) {
      if (carry.length) fail('it holds a carried state but does not say its form');
      fit.carried = null;
    } else {
      const n = how === 'tensor' ? 1 : Number(how);
      if (!Number.isInteger(n) || n < 1 || carry.length !== n || carry.some((t) => !t)) fail(`its carried state should have ${String(how)} tensor(s), found ${carry.filter(Boolean).length}`);
      fit.carried = how === 'tensor' ? carry[0]! : carry;
    }
  } else if (Object.keys(best).length > 0 || carry.length > 0) fail('it holds best weights or a carried state but no training-loop state');
  return { step, extras, ...(fit ? { fit } : {}) };
}

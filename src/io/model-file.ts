/**
 * Model files: one .safetensors file holding a SequenceModel's weights under its parameter
 * names, with metadata that rebuilds it: `format` ('recurrent-model'), `format_version`, the
 * library version, the model's `config` (JSON) and `extras` (JSON: vocabulary, scaler, task, ...
 * whatever the application saves with it). Any safetensors reader can read the weights.
 */
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import { SequenceModel, type SequenceModelConfig } from '../nn/sequence-model.js';
import { Seq2Seq, type Seq2SeqConfig } from '../nn/seq2seq.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { VERSION } from '../version.js';

export const MODEL_FORMAT = 'recurrent-model';
/** The model-file format this version writes and the newest it reads. */
export const MODEL_FORMAT_VERSION = 1;

/** What `loadModel` returns. */
export interface LoadedModel {
  model: SequenceModel;
  /** The JSON values saved beside the model (vocabulary, scaler, task, ...). */
  extras: Record<string, unknown>;
  /** The file's metadata strings as stored. */
  metadata: Record<string, string>;
}

/** The classes of model a file holds (metadata `model`; files without it hold a SequenceModel). */
export type ModelClass = 'SequenceModel' | 'Seq2Seq';

/** The class of model in a model file's metadata. */
export function modelClassOf(metadata: Record<string, string>): ModelClass {
  const c = metadata['model'] ?? 'SequenceModel';
  if (c !== 'SequenceModel' && c !== 'Seq2Seq') fail(`the file holds a model of class '${c}', which this version does not know`);
  return c;
}

/** The bytes of a model file for `model` and JSON-serialisable `extras`. */
export function saveModel(model: SequenceModel, extras: Record<string, unknown> = {}): Uint8Array {
  if (!(model instanceof SequenceModel)) throw new Error(`saveModel: model must be a SequenceModel${(model as unknown) instanceof Seq2Seq ? ' (a Seq2Seq saves with saveSeq2Seq)' : ''}`);
  return saveAny(model, model.config, 'SequenceModel', extras, 'saveModel');
}

/** The bytes of a model file for a Seq2Seq and JSON-serialisable `extras` (its vocabularies, ...). */
export function saveSeq2Seq(model: Seq2Seq, extras: Record<string, unknown> = {}): Uint8Array {
  if (!(model instanceof Seq2Seq)) throw new Error('saveSeq2Seq: model must be a Seq2Seq');
  return saveAny(model, model.config, 'Seq2Seq', extras, 'saveSeq2Seq');
}

function saveAny(model: Module, config: unknown, cls: ModelClass, extras: Record<string, unknown>, who: string): Uint8Array {
  let extrasJson: string;
  try {
    extrasJson = JSON.stringify(extras);
  } catch (e) {
    throw new Error(`${who}: extras must be JSON-serialisable (${(e as Error).message})`);
  }
  return saveSafetensors(model.stateDict(), {
    format: MODEL_FORMAT,
    format_version: String(MODEL_FORMAT_VERSION),
    library_version: VERSION,
    ...(cls === 'SequenceModel' ? {} : { model: cls }),
    config: JSON.stringify(config),
    extras: extrasJson,
  });
}

function fail(msg: string): never {
  throw new Error(`loadModel: ${msg}`);
}

/** Rebuilds a SequenceModel from the bytes of a model file; every problem is an Error with its reason. */
export function loadModel(bytes: Uint8Array): LoadedModel {
  const r = loadAny(bytes, 'SequenceModel');
  return { ...r, model: r.model as SequenceModel };
}

/** What `loadSeq2Seq` returns. */
export interface LoadedSeq2Seq {
  model: Seq2Seq;
  extras: Record<string, unknown>;
  metadata: Record<string, string>;
}

/** Rebuilds a Seq2Seq from the bytes of a model file. */
export function loadSeq2Seq(bytes: Uint8Array): LoadedSeq2Seq {
  const r = loadAny(bytes, 'Seq2Seq');
  return { ...r, model: r.model as Seq2Seq };
}

/** The class of model in the bytes of a model file (its header only is read). */
export function modelClassOfFile(bytes: Uint8Array): ModelClass {
  const { metadata } = loadSafetensors(bytes);
  if (metadata['format'] !== MODEL_FORMAT) fail(`not a recurrent model file (metadata format is ${metadata['format'] === undefined ? 'missing' : `'${metadata['format']}'`})`);
  return modelClassOf(metadata);
}

function loadAny(bytes: Uint8Array, want: ModelClass): { model: Module; extras: Record<string, unknown>; metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(bytes);
  if (metadata['format'] !== MODEL_FORMAT) {
    fail(`not a recurrent model file (metadata format is ${metadata['format'] === undefined ? 'missing' : `'${metadata['format']}'`}); plain weights load with loadSafetensors`);
  }
  const v = Number(metadata['format_version']);
  if (!Number.isInteger(v) || v < 1) fail(`invalid format_version '${metadata['format_version']}'`);
  if (v > MODEL_FORMAT_VERSION) fail(`the file has format version ${v}, written by recurrent ${metadata['library_version'] ?? '?'}; this version (${VERSION}) reads up to ${MODEL_FORMAT_VERSION}`);
  const cls = modelClassOf(metadata);
  if (cls !== want) fail(`the file holds a ${cls}, not a ${want}${cls === 'Seq2Seq' ? ' (load it with loadSeq2Seq)' : ' (load it with loadModel)'}`);
  let config: unknown;
  let extras: Record<string, unknown>;
  try {
    config = JSON.parse(metadata['config'] ?? '');
  } catch {
    fail('the model config is missing or not valid JSON');
  }
  try {
    extras = JSON.parse(metadata['extras'] ?? '{}') as Record<string, unknown>;
  } catch {
    fail('the extras are not valid JSON');
  }
  if (config === null || typeof config !== 'object') fail('the model config is not an object');
  if (extras === null || typeof extras !== 'object' || Array.isArray(extras)) fail('the extras are not an object');
  checkFinite(tensors);
  let model: Module;
  try {
    model = cls === 'Seq2Seq' ? new Seq2Seq(config as Seq2SeqConfig) : new SequenceModel(config as SequenceModelConfig);
  } catch (e) {
    fail(`the saved config does not build a model: ${(e as Error).message}`);
  }
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    fail(`the weights do not fit the saved config: ${(e as Error).message}`);
  }
  return { model, extras, metadata };
}

/** A weight that is NaN or infinite (a run that diverged, a corrupt file) makes every output garbage. */
function checkFinite(tensors: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) fail(`weight '${name}' holds ${d[i]} at element ${i}: the model is not usable (did its training diverge?)`);
    }
  }
}

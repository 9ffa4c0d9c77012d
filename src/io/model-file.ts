/**
 * Model files: one .safetensors file holding a SequenceModel's weights under its parameter
 * names, with metadata that rebuilds it: `format` ('recurrent-model'), `format_version`, the
 * library version, the model's `config` (JSON) and `extras` (JSON: vocabulary, scaler, task, ...
 * whatever the application saves with it). Any safetensors reader can read the weights.
 */
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import { SequenceModel, type SequenceModelConfig } from '../nn/sequence-model.js';
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

/** The bytes of a model file for `model` and JSON-serialisable `extras`. */
export function saveModel(model: SequenceModel, extras: Record<string, unknown> = {}): Uint8Array {
  if (!(model instanceof SequenceModel)) throw new Error('saveModel: model must be a SequenceModel');
  let extrasJson: string;
  try {
    extrasJson = JSON.stringify(extras);
  } catch (e) {
    throw new Error(`saveModel: extras must be JSON-serialisable (${(e as Error).message})`);
  }
  return saveSafetensors(model.stateDict(), {
    format: MODEL_FORMAT,
    format_version: String(MODEL_FORMAT_VERSION),
    library_version: VERSION,
    config: JSON.stringify(model.config),
    extras: extrasJson,
  });
}

function fail(msg: string): never {
  throw new Error(`loadModel: ${msg}`);
}

/** Rebuilds a model from the bytes of a model file; every problem is an Error with its reason. */
export function loadModel(bytes: Uint8Array): LoadedModel {
  const { tensors, metadata } = loadSafetensors(bytes);
  if (metadata['format'] !== MODEL_FORMAT) {
    fail(`not a recurrent model file (metadata format is ${metadata['format'] === undefined ? 'missing' : `'${metadata['format']}'`}); plain weights load with loadSafetensors`);
  }
  const v = Number(metadata['format_version']);
  if (!Number.isInteger(v) || v < 1) fail(`invalid format_version '${metadata['format_version']}'`);
  if (v > MODEL_FORMAT_VERSION) fail(`the file has format version ${v}, written by recurrent ${metadata['library_version'] ?? '?'}; this version (${VERSION}) reads up to ${MODEL_FORMAT_VERSION}`);
  let config: SequenceModelConfig;
  let extras: Record<string, unknown>;
  try {
    config = JSON.parse(metadata['config'] ?? '') as SequenceModelConfig;
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
  // a weight that is NaN or infinite (a run that diverged, a corrupt file) makes every output garbage
  for (const [name, t] of Object.entries(tensors)) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) fail(`weight '${name}' holds ${d[i]} at element ${i}: the model is not usable (did its training diverge?)`);
    }
  }
  let model: SequenceModel;
  try {
    model = new SequenceModel(config);
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

// The messages between the playground's page and its trainer worker.

/** The tasks trained in one run of steps, each reporting its progress alike. */
export type TaskName = 'forecast' | 'g2p' | 'digits';

/** A character model's configuration, as the form gives it. */
export interface TextConfig {
  kind: 'lstm' | 'gru' | 'rnn';
  layers: number;
  hidden: number;
  seqLen: number;
  batch: number;
  lr: number;
  /** the gradient norm's ceiling; 0: no clipping */
  clip: number;
  seed: number;
}

/** What to generate: after `prompt`, `length` characters drawn at `temperature` among the top k (0: all). */
export interface SampleRequest {
  prompt: string;
  temperature: number;
  topK: number;
  length: number;
  /** drawn by the trainer on its own schedule, not asked for */
  auto?: boolean;
}

export type FromPage =
  | { type: 'init' }
  | { type: 'start'; corpus: string; url: string; config: TextConfig; sample: SampleRequest }
  /** the sample settings, for the samples drawn while training */
  | { type: 'settings'; sample: SampleRequest }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'sample'; request: SampleRequest }
  | { type: 'save' }
  /** time BENCHMARKS.md's lstm-lm workload for a few seconds */
  | { type: 'benchmark'; seconds: number }
  /** the adding problem: an RNN, an LSTM and a GRU trained side by side */
  | { type: 'adding'; length: number; steps: number; hidden: number }
  /** train a forecaster on a series (the settings its file carries) */
  | { type: 'forecastTrain'; url: string; steps: number; hidden: number }
  /** the trained forecaster as a model file */
  | { type: 'saveForecaster' }
  /** a forecaster's model file (recurrent train series, or this page), to forecast the series at url with */
  | { type: 'loadForecaster'; name: string; bytes: Uint8Array; url: string }
  /** the trained forecaster's forecast and backtest at another horizon */
  | { type: 'forecastHorizon'; horizon: number }
  /** train a grapheme-to-phoneme model on the page's slice of CMUdict */
  | { type: 'g2pTrain'; url: string; steps: number }
  /** a word's phonemes and attention from the pronunciation model */
  | { type: 'pronounce'; word: string }
  /** a seq2seq model file (recurrent train seq2seq, examples/g2p.mjs --out) */
  | { type: 'g2pLoad'; name: string; bytes: Uint8Array }
  /** train a reader of handwritten digit strings (CTC) on the page's MNIST images */
  | { type: 'digitsTrain'; url: string; steps: number }
  /** read the digits in columns (width, 28) of pixels in [0, 1] */
  | { type: 'readDigits'; cols: Float32Array; width: number }
  /** a line composed of held-out digits (these digits, or 3-8 random ones where empty), to draw and read */
  | { type: 'testLine'; digits: string }
  /** look inside the current model on a text */
  | { type: 'inside'; text: string }
  /** train an RNN, an LSTM and a GRU briefly on a corpus and compare their gradient norms on a text */
  | { type: 'compare'; text: string; url: string; steps: number }
  /** a model file the user chose */
  | { type: 'load'; name: string; bytes: Uint8Array };

export type ToPage =
  | { type: 'backend'; name: string; wasm: string | null; threads: number; isolated: boolean; notes: string[] }
  | { type: 'started'; vocab: number; parameters: number; characters: number }
  | { type: 'state'; state: 'idle' | 'running' | 'paused' | 'stopped' }
  | { type: 'progress'; step: number; loss: number; tokensPerSecond: number; seconds: number }
  | { type: 'validation'; step: number; loss: number }
  | { type: 'sample'; step: number; text: string; auto: boolean }
  | { type: 'model'; bytes: Uint8Array; name: string }
  | { type: 'loaded'; name: string; vocab: number; parameters: number; kind: string }
  | { type: 'inside'; kind: string; chars: string[]; cells: InsideCell[]; saliency: number[]; predicted: string }
  | { type: 'benchmark'; workload: string; value: number; unit: string; steps: number; stepMs: number }
  | { type: 'addingProgress'; step: number; losses: Record<string, number> }
  | { type: 'addingDone'; testMse: Record<string, number>; seconds: number }
  | { type: 'forecast'; title: string; horizon: number; points: { series: string; x: number; y: number }[]; rmse: number; seasonalRmse: number; naiveRmse: number; origins: number; dates: [string, string] }
  | { type: 'g2pReady'; words: number; parameters: number; source: string }
  | { type: 'pronounced'; word: string; phonemes: string[]; cells: InsideCell[] }
  | { type: 'digitsReady'; labelErrorRate: number; lineAccuracy: number; lines: number }
  | { type: 'digitsRead'; digits: string; truth: string | null }
  | { type: 'testLine'; cols: Float32Array; width: number; truth: string }
  /** a task's training: the mean loss of the steps since the last report */
  | { type: 'progressOf'; task: TaskName; step: number; steps: number; loss: number }
  | { type: 'compareProgress'; kind: string; step: number; steps: number }
  | { type: 'gradnorms'; points: { series: string; x: number; y: number }[]; text: string }
  | { type: 'error'; message: string };

/** One cell of the inside view's heatmaps: panel h or a gate's name, a character (x) and a unit (y). */
export interface InsideCell {
  panel: string;
  x: string;
  y: string;
  value: number;
}

export { CharVocabulary, type VocabularyJSON } from './vocab.js';
export { splitIds, randomWindows, sequentialWindows, padBatch } from './text.js';
export { readCsvColumn, Scaler, difference, randomSeriesWindows, type ScalerJSON } from './series.js';

export { CharVocabulary, WordVocabulary, vocabularyFromJSON, type Vocabulary, type VocabularyJSON } from './vocab.js';
export { splitIds, randomWindows, sequentialWindows, padBatch, ContiguousWindows, type ContiguousBatch } from './text.js';
export { readCsvColumn, Scaler, difference, randomSeriesWindows, type ScalerJSON, type CsvColumnOptions } from './series.js';
export { readCsvRows, readJsonLines, readLabelled, LabelSet, shuffled, trainValTestSplit, type LabelledTexts, type ReadLabelledOptions } from './labelled.js';
export { readPairs, SymbolVocabulary, pairBatch, pairBatches, type TextPair, type Tokenization, type SymbolVocabularyJSON, type IdPair, type PairBatch } from './pairs.js';
export { addingProblem } from './synthetic.js';

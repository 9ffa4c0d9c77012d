export { CharVocabulary, type VocabularyJSON } from './vocab.js';
export { splitIds, randomWindows, sequentialWindows } from './text.js';

export { loadSafetensors, saveSafetensors, withPrefix, MAX_HEADER_BYTES, type Safetensors } from './safetensors.js';

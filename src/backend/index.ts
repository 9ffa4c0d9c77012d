import { registerBackend } from './backend.js';
import { referenceBackend } from './reference/index.js';

registerBackend(referenceBackend);

export * from './backend.js';
export { referenceBackend } from './reference/index.js';

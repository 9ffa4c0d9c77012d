export * from './index.js';
export * from './backend/index.js';
export * from './autograd/index.js';
export { ThreadPool } from './backend/wasm/pool.js';
export { ThreadChooser } from './backend/wasm/chooser.js';

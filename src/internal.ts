export * from './index.js';
export * from './backend/index.js';
export * from './autograd/index.js';

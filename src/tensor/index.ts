export * from './dtype.js';
export * from './shape.js';
export * from './tensor.js';
export * from './random.js';
export * from './create.js';
export * from './memory.js';

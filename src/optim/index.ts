export { Optimizer, type ParamGroupInput, type ParamGroup, type OptimizerStateDict, type ParamState } from './optimizer.js';
export { SGD, Adam, AdamW, RMSprop, type SGDOptions, type AdamOptions, type RMSpropOptions } from './optimizers.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export { LRScheduler, StepLR, CosineAnnealingLR, ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './schedulers.js';
export { ExponentialMovingAverage, type ExponentialMovingAverageOptions, type ExponentialMovingAverageState } from './averaging.js';

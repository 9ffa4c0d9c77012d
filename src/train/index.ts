export { fit, type FitOptions, type FitEvent, type FitResult } from './fit.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FORMAT, type CheckpointState } from './checkpoint.js';
export { sampleLogits, type SampleOptions } from './sample.js';
export { lineChartSvg, type LinePoint, type LineChartOptions } from './plot.js';
export { mae, rmse, mape } from './metrics.js';

export { fit, TrainingDivergedError, type FitOptions, type FitEvent, type FitResult } from './fit.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FORMAT, type CheckpointState, type FitState, type CarriedState } from './checkpoint.js';
export { sampleLogits, type SampleOptions } from './sample.js';
export { lineChartSvg, heatmapSvg, lineChartSpec, heatmapSpec, LINE_DATA, type LinePoint, type LineChartOptions, type HeatCell, type HeatmapOptions } from './plot.js';
export { mae, rmse, mape, accuracy, confusionMatrix, editDistance } from './metrics.js';
export { forecastFrom, backtest, noBacktestReason, type SeriesExtras, type BacktestResult } from './forecast.js';

export { loadSafetensors, saveSafetensors, withPrefix, renamePrefixes, MAX_HEADER_BYTES, type Safetensors } from './safetensors.js';
export { saveModel, loadModel, MODEL_FORMAT, MODEL_FORMAT_VERSION, type LoadedModel } from './model-file.js';
export { saveModelFile, loadModelFile, writeFileAtomic, exportOnnxFile, checkWritable, sameFile } from './files.js';
export { exportOnnx, type OnnxExportOptions } from './onnx.js';
export { fromTfjs, type TfjsModel, type TfjsWeightSpec } from './keras.js';

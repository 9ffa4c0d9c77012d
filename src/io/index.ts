export { loadSafetensors, saveSafetensors, withPrefix, renamePrefixes, MAX_HEADER_BYTES, type Safetensors } from './safetensors.js';
export { saveModel, loadModel, saveSeq2Seq, loadSeq2Seq, modelClassOfFile, MODEL_FORMAT, MODEL_FORMAT_VERSION, type LoadedModel, type LoadedSeq2Seq, type ModelClass } from './model-file.js';
export { saveModelFile, loadModelFile, saveSeq2SeqFile, loadSeq2SeqFile, modelClassOfPath, writeFileAtomic, exportOnnxFile, checkWritable, sameFile } from './files.js';
export { exportOnnx, exportSeq2SeqOnnx, type OnnxExportOptions, type Seq2SeqOnnx } from './onnx.js';
export { fromTfjs, type TfjsModel, type TfjsWeightSpec } from './keras.js';

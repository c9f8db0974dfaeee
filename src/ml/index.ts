// The ML layer's public face: registering the in-process transform with the job runner, the
// static spec check the spec layer calls, and what commands, the demo and the bench need.
// TensorFlow.js loads only when a network stage trains or loads.
export { registerMlChecks, registerMlTransforms } from './register.js';
export { validateMlSpec, checkChainSchema, type MlSpec } from './spec.js';
export { checkMlPipeline, type ReadHead } from './create-check.js';
export { readSchema, localPath } from './data.js';
export { schemaFromCsvText } from './readers/csv.js';
export { MlError } from './errors.js';
export { runMl, type MlRunContext, type MlRunResult, type MetricsJson } from './run.js';
export { loadChain, predictChain, findChainDir, type FittedChain } from './chain.js';
export { STAGES } from './stages/registry.js';
export type { Schema, ColumnSchema } from './table.js';

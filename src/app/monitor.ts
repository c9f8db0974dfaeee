// Values the drift command checks its flags against and throws; loaded by that command only.
export { DRIFT_DEFAULTS } from '../monitor/drift.js';
export { DriftDetectedError } from '../monitor/errors.js';

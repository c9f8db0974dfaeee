// Errors of the ML layer. Every one is an E_INVALID usage error that names the spec field, the
// stage and the column, so that a bad chain fails at `create pipeline` or before a job's first
// datum, never an hour into training.
import { InvalidArgumentError } from '../errors.js';

/** A spec, schema or data problem found by the ML layer; `at` is the spec path (`transform.ml.chain[1]`). */
export class MlError extends InvalidArgumentError {
  constructor(
    message: string,
    hint?: string,
    readonly details?: { at?: string; stage?: string; column?: string; kind?: 'not-a-number' },
  ) {
    super(message, hint);
  }
}

/** Error about one stage of the chain: `transform.ml.chain[2] (LinearRegression): …`. */
export function stageError(index: number, stage: string, message: string, hint?: string, column?: string): MlError {
  return new MlError(`transform.ml.chain[${index}] (${stage}): ${message}`, hint, { at: `transform.ml.chain[${index}]`, stage, column });
}

/** Error about one spec field: `transform.ml.split.test: …`. */
export function fieldError(at: string, message: string, hint?: string): MlError {
  return new MlError(`${at}: ${message}`, hint, { at });
}

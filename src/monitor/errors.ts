// The error `tusk drift` ends with when it finds drift (exit 1), carrying the report.
import { TuskError } from '../errors.js';
import type { DriftReport } from './drift-service.js';

/** Drift was found: exit 1 (so CI and git hooks can stop on it), the whole report in `details`. */
export class DriftDetectedError extends TuskError {
  readonly code = 'E_DRIFT';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly details: DriftReport,
  ) {
    super(message, 'see docs/monitoring.md to read the report; pass --report-only to report drift with exit status 0');
  }
}

// The one JSON error shape of tusk's HTTP servers (the console and `tusk serve model`): the same
// `{ "error": { code, message, hint } }` the CLI writes under `--json`, so a client handles a
// failed call the same way whichever server answered it.
import { TuskError } from './errors.js';

/** An error about HTTP itself (route, method, auth, body size) rather than the store or the data. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What every failed call answers. */
export type ErrorBody = { error: { code: string; message: string; hint: string | null } };

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  E_INVALID: 400,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_EXISTS: 409,
  E_LOCKED: 503,
};

/** The HTTP status of a tusk error: its code's status, 500 for codes no client can act on. */
export function statusOfCode(code: string): number {
  return STATUS_OF_CODE[code] ?? 500;
}

/**
 * Status and body for any thrown value. `statusOf` lets a server say which tusk errors are the
 * client's; anything that is neither an HttpError nor a TuskError is a 500 `E_INTERNAL` that
 * keeps its message.
 */
export function describeError(err: unknown, statusOf: (err: TuskError) => number = (e) => statusOfCode(e.code)): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) return { status: err.status, body: errorBody(err.code, err.message, err.hint) };
  if (err instanceof TuskError) return { status: statusOf(err), body: errorBody(err.code, err.message, err.hint) };
  return { status: 500, body: errorBody('E_INTERNAL', err instanceof Error ? err.message : String(err)) };
}

function errorBody(code: string, message: string, hint?: string): ErrorBody {
  return { error: { code, message, hint: hint ?? null } };
}

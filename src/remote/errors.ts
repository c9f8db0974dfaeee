// Errors of remote transfers; the roots in src/errors.ts give them their exit codes.
import { ConflictError } from '../errors.js';

/** The remote branch has commits the pusher does not (or the local branch has the remote's behind it). */
export class NonFastForwardError extends ConflictError {
  override readonly code = 'E_NON_FAST_FORWARD';
  constructor(
    message: string,
    hint: string,
    readonly details: { repo: string; branch: string; local: string | null; remote: string | null },
  ) {
    super(message, hint);
  }
}

/** Two updates of one remote branch both stand (a pusher crashed before withdrawing its own). */
export class DivergedError extends ConflictError {
  override readonly code = 'E_DIVERGED';
  constructor(readonly details: { repo: string; branch: string; heads: string[] }) {
    super(
      `remote branch ${details.repo}@${details.branch} has diverged: heads ${details.heads.join(' and ')}`,
      `from a store that holds the head to keep, \`tusk push --force REMOTE ${details.repo}@${details.branch}\` makes it the one head`,
    );
  }
}

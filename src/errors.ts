// One error hierarchy for every layer. The base command's catch is the only place that prints
// errors and turns them into exit codes; tests assert `code`, never the message.

export abstract class TuskError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
  constructor(message: string, readonly hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Exit codes, documented in docs/errors.md. */
export const EXIT = {
  generic: 1,
  usage: 2,
  notFound: 4,
  corrupt: 5,
  locked: 6,
  conflict: 3,
  jobFailed: 7,
  interrupted: 130,
} as const;

/** Bad arguments, bad names, bad paths: the user can fix the command line. */
export class InvalidArgumentError extends TuskError {
  readonly code: string = 'E_INVALID';
  readonly exitCode: number = EXIT.usage;
}

/** A repo, branch, commit, file or store that does not exist. */
export class NotFoundError extends TuskError {
  readonly code = 'E_NOT_FOUND';
  readonly exitCode = EXIT.notFound;
  constructor(
    readonly kind: 'repo' | 'branch' | 'commit' | 'file' | 'store' | 'pipeline' | 'job' | 'datum' | 'local file',
    readonly id: string,
    message?: string,
    hint?: string,
  ) {
    super(message ?? `${kind} ${id} not found`, hint ?? defaultNotFoundHint(kind));
  }
}

function defaultNotFoundHint(kind: string): string | undefined {
  switch (kind) {
    case 'repo':
      return 'run `tusk list repo` to see what exists';
    case 'branch':
      return 'run `tusk list branch REPO` to see what exists';
    case 'commit':
      return 'run `tusk list commit REPO` to see what exists';
    case 'file':
      return 'run `tusk list file REPO@REF:/DIR` to see what exists';
    case 'store':
      return 'run `tusk init` to create a store, or set TUSK_STORE to an existing one';
    default:
      return undefined;
  }
}

/** Something already exists, or the operation conflicts with current state. */
export class ConflictError extends TuskError {
  readonly code: string = 'E_CONFLICT';
  readonly exitCode: number = EXIT.conflict;
}

export class AlreadyExistsError extends ConflictError {
  override readonly code = 'E_EXISTS';
}

/** Stored bytes or metadata do not match their ids. Never return wrong bytes. */
export class CorruptError extends TuskError {
  readonly code = 'E_CORRUPT';
  readonly exitCode = EXIT.corrupt;
}

/** The store is busy (held by another process beyond our patience) or read-only. */
export class LockedError extends TuskError {
  readonly code = 'E_LOCKED';
  readonly exitCode = EXIT.locked;
}

/**
 * The store is busy: another process held its write lock (or took every connection) beyond our
 * patience. Unlike a read-only store it frees again on its own, so a long-lived process may wait.
 */
export class StoreBusyError extends LockedError {}

/** One failed job a wait ended on: the job, its state and reason, and its first failed datum. */
export interface FailedJob {
  pipeline: string;
  job: string;
  state: string;
  reason: string | null;
  datum: string | null;
  datumFiles: string[];
  datumError: string | null;
}

/** A job that a command waited for ended without success: what was written stays written. */
export class JobFailedError extends TuskError {
  readonly code = 'E_JOB_FAILED';
  readonly exitCode = EXIT.jobFailed;
  constructor(
    message: string,
    hint: string,
    readonly details: { jobs: FailedJob[] },
  ) {
    super(message, hint);
  }
}

/** The store was written by a newer tusk, or uses a format this build cannot read. */
export class FormatVersionError extends TuskError {
  readonly code = 'E_FORMAT';
  readonly exitCode = EXIT.generic;
}

/** An operating-system error we could not turn into something more specific. */
export class IoError extends TuskError {
  readonly code = 'E_IO';
  readonly exitCode = EXIT.generic;
}

/** A worker whose store went away or stopped answering: it stopped claiming and gave back what it could. */
export class StoreLostError extends TuskError {
  readonly code = 'E_STORE_LOST';
  readonly exitCode = EXIT.generic;
  constructor(
    readonly worker: string,
    readonly store: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`worker ${worker} lost its store ${store}: ${reason}`, 'check that the store exists and its disk and database answer, then start the worker again; the datums it held are run by the other workers', options);
  }
}

/**
 * Translate a Node fs error on a user-supplied local path into a TuskError. `use` says whether
 * tusk was reading the path (a source: put, -f) or writing it (a destination: get -o), so the
 * hint fits the command that was run.
 */
export function localFileError(err: unknown, path: string, use: 'read' | 'write' = 'read'): TuskError {
  const e = err as NodeJS.ErrnoException;
  const writing = use === 'write';
  switch (e?.code) {
    case 'ENOENT':
      return writing
        ? new NotFoundError('local file', path, `cannot write ${path}: its directory doesn't exist`, 'create the directory first, or write somewhere else')
        : new NotFoundError('local file', path, `${path} doesn't exist`, 'check the path given with -f');
    case 'EACCES':
    case 'EPERM':
      return new InvalidArgumentError(`cannot ${use} ${path}: permission denied`, writing ? 'check the permissions of the file and its directory, or write somewhere else' : 'check the file permissions', { cause: err });
    case 'EISDIR':
      return writing
        ? new InvalidArgumentError(`cannot write ${path}: it is a directory`, `name the file to write, e.g. -o ${path.replace(/\/+$/, '')}/NAME; -r writes a directory of the repo into it`, { cause: err })
        : new InvalidArgumentError(`${path} is a directory`, 'pass -r to put a directory', { cause: err });
    case 'ENOSPC':
      return new IoError(`no space left on device while writing ${path}`, 'free some disk space and retry', { cause: err });
    case 'EDQUOT':
      return new IoError(`disk quota exceeded while writing ${path}`, 'free space within your quota, or write somewhere else', { cause: err });
    case 'EFBIG':
      return new IoError(`${path} would be larger than its file system or this process's file size limit (ulimit -f) allows`, 'write it to a file system that takes files this big, or raise the limit', { cause: err });
    default:
      return new IoError(`${path}: ${e?.message ?? String(err)}`, undefined, { cause: err });
  }
}

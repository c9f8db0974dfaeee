// Argument shapes shared by several commands, on top of the addressing grammar in store/address.

import { InvalidArgumentError } from '../errors.js';
import { type CommitRef, type FileRef, isCommitId, parseCommitRef } from '../app/api.js';
import { msg } from '../ui/messages.js';

/** `--head`/`--parent` values: a commit id or branch of `repo`, or a full `repo@…` address. */
export function parseCommitish(repo: string, value: string): CommitRef {
  return parseCommitRef(value.includes('@') ? value : `${repo}@${value}`);
}

/** A commit address, or a bare commit id meaning the whole commit set (`repo` is then ''). */
export function parseCommitOrSet(arg: string): CommitRef {
  if (!arg.includes('@') && isCommitId(arg)) return { repo: '', commit: arg };
  return parseCommitRef(arg);
}

/** The FileRef with its path required (`what` names it in the error, e.g. "file path"). */
export function requirePath(ref: FileRef, what: string, example: string): FileRef & { path: string } {
  if (ref.path === undefined) throw new InvalidArgumentError(msg.pathRequired(what), msg.pathRequiredHint(example));
  return { ...ref, path: ref.path };
}

/** `--delimiter`: a field separator, one character. */
export function parseDelimiter(text: string): string {
  if ([...text].length !== 1) throw new InvalidArgumentError(`--delimiter ${JSON.stringify(text)} is not one character`, "e.g. --delimiter ';' or --delimiter $'\\t'");
  return text;
}

/** An RFC 3339 time given to a flag, in ms since the epoch. */
export function parseTimeFlag(flag: string, value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`${flag}: invalid time ${JSON.stringify(value)}`, 'write an RFC 3339 time, e.g. 2026-12-01T09:00:00Z');
  return ms;
}

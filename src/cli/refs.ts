// Argument shapes shared by several commands, on top of the addressing grammar in store/address.

import { InvalidArgumentError } from '../errors.js';
import { type CommitRef, type FileRef, isCommitId, parseCommitRef } from '../store/address.js';
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

// pachctl's addressing grammar: repo, repo@branch, repo@commit, repo@branch=commit, ancestry, :/path.
import { InvalidArgumentError } from '../errors.js';
import { cleanPath, escapeControlChars, normalizeName } from './paths.js';

/** `^` (also written `~`): n ancestors back. `.`: the n-th commit from the branch start, 1-based. */
export type Ancestry = { op: '^' | '.'; n: number };

/** A commit as the user addressed it; resolving it against the store is the caller's job. */
export interface CommitRef {
  repo: string;
  branch?: string;
  commit?: string;
  ancestry?: Ancestry;
}

/** A commit plus a path (cleaned, absolute; may be a glob); `path` is undefined when no `:` was given. */
export interface FileRef extends CommitRef {
  path?: string;
}

/** Commit ids are UUIDv4 as 32 lowercase hex chars; the 13th is always `4`. */
export const COMMIT_ID_RE = /^[0-9a-f]{12}4[0-9a-f]{19}$/;

const NAME_RE = /^[a-zA-Z0-9_-]+$/;
const MAX_NAME_LENGTH = { repo: 255, branch: 255, pipeline: 63 } as const;
const COMMIT_ID_HINT = 'a commit id is 32 lowercase hex characters, e.g. b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a';

/** Whether a token after `@` is a commit id rather than a branch name. */
export function isCommitId(s: string): boolean {
  return COMMIT_ID_RE.test(s);
}

/** Check a repo, branch or pipeline name and return it; throws InvalidArgumentError. */
export function validateName(kind: 'repo' | 'branch' | 'pipeline', name: string): string {
  if (name === '') {
    throw new InvalidArgumentError(`${kind} name cannot be empty`, `give a ${kind} name, e.g. images`);
  }
  const max = MAX_NAME_LENGTH[kind];
  if (name.length > max) {
    throw new InvalidArgumentError(
      `${kind} name is ${name.length} characters long, but must have at most ${max}: "${escapeControlChars(name.slice(0, 20))}…"`,
      `use a ${kind} name of at most ${max} characters`,
    );
  }
  if (!NAME_RE.test(name)) {
    throw new InvalidArgumentError(
      `${kind} name (${escapeControlChars(name)}) invalid: only alphanumeric characters, underscores, and dashes are allowed`,
      // `.`, `^`, `~`, `@`, `:`, `=` belong to the addressing grammar, so names can never hold them.
      'use only letters, digits, "_" and "-"',
    );
  }
  return name;
}

/** Parse `repo[@branch|@commit|@branch=commit][ancestry][:/path]`. */
export function parseFileRef(arg: string): FileRef {
  const { ref, path } = parseRef(arg);
  if (path === undefined) return ref;
  if (path.split('/').some((el) => el === '.' || el === '..')) {
    // Never resolve `..` silently: the caller might write to the result.
    throw new InvalidArgumentError(
      `path (${escapeControlChars(path)}) invalid: relative file paths are not allowed`,
      'give the path from the repo root without "." or ".." elements, e.g. repo@master:/dir/file.txt',
    );
  }
  return { ...ref, path: cleanPath(path) };
}

/** Parse a commit address; a `:/path` part is an error. */
export function parseCommitRef(arg: string): CommitRef {
  const { ref, path } = parseRef(arg);
  if (path !== undefined) throw filePathNotAllowed(arg);
  return ref;
}

/** Parse `repo@branch`; commit ids, `=` and ancestry are errors. */
export function parseBranchRef(arg: string): { repo: string; branch: string } {
  const shown = escapeControlChars(arg);
  const at = arg.indexOf('@');
  const repo = at < 0 ? arg : arg.slice(0, at);
  if (repo === '') throw emptyRepo(arg);
  const rest = at < 0 ? '' : arg.slice(at + 1);
  if (rest.includes(':')) throw filePathNotAllowed(arg);
  validateName('repo', repo);
  if (rest === '') {
    throw new InvalidArgumentError(
      `invalid format "${shown}": a branch is required (repo@branch)`,
      `name the branch, e.g. ${repo}@master`,
    );
  }
  if (/[=^~.]/.test(rest) || isCommitId(rest)) {
    throw new InvalidArgumentError(
      `invalid branch "${shown}": cannot specify a commit or ancestry`,
      `name the branch alone, e.g. ${repo}@master`,
    );
  }
  return { repo, branch: validateName('branch', rest) };
}

/** Render a CommitRef in the grammar parseCommitRef reads (round-trips). */
export function formatCommitRef(ref: CommitRef): string {
  const { repo, branch, commit, ancestry } = ref;
  if (!branch && !commit) return repo;
  const target = branch && commit ? `${branch}=${commit}` : (branch || commit)!;
  return `${repo}@${target}${ancestry ? formatAncestry(ancestry) : ''}`;
}

/** Render a FileRef in the grammar parseFileRef reads (round-trips). */
export function formatFileRef(ref: FileRef): string {
  return ref.path === undefined ? formatCommitRef(ref) : `${formatCommitRef(ref)}:${ref.path}`;
}

function formatAncestry({ op, n }: Ancestry): string {
  if (op === '.') return `.${n}`;
  if (n === 0) return '';
  return n === 1 ? '^' : `^${n}`;
}

// Split on the first `@`, then the rest on the first `:`, then on the first `=`, as pachctl does.
function parseRef(arg: string): { ref: CommitRef; path?: string } {
  const shown = escapeControlChars(arg);
  const at = arg.indexOf('@');
  const repo = at < 0 ? arg : arg.slice(0, at);
  if (repo === '') throw emptyRepo(arg);
  if (at < 0) {
    if (repo.includes(':')) {
      const colon = repo.indexOf(':');
      const [name, path] = [repo.slice(0, colon), repo.slice(colon + 1)];
      throw new InvalidArgumentError(
        `invalid format "${shown}": a branch or commit is required before the path (repo@branch:/path)`,
        `name the branch, e.g. ${escapeControlChars(name)}@master:${escapeControlChars(path)}`,
      );
    }
    return { ref: { repo: validateName('repo', repo) } };
  }
  validateName('repo', repo);

  const rest = arg.slice(at + 1);
  const colon = rest.indexOf(':');
  const target = colon < 0 ? rest : rest.slice(0, colon);
  // stored paths are NFC: a path typed in another form names the same file
  const path = colon < 0 ? undefined : normalizeName(rest.slice(colon + 1));
  if (target === '') {
    throw new InvalidArgumentError(
      `invalid format "${shown}": a branch or commit is required after "@"`,
      `name a branch or commit, e.g. ${repo}@master`,
    );
  }

  const ref: CommitRef = { repo };
  const eq = target.indexOf('=');
  if (eq >= 0) {
    const branch = target.slice(0, eq);
    const commitPart = target.slice(eq + 1);
    // An empty branch is allowed: pachctl renders branchless commits as `repo@=id`.
    if (branch !== '') ref.branch = validateName('branch', branch);
    const { base, ancestry } = splitAncestry(commitPart);
    if (!isCommitId(base)) {
      throw new InvalidArgumentError(
        `invalid format "${shown}": "${escapeControlChars(base)}" is not a commit id`,
        COMMIT_ID_HINT,
      );
    }
    ref.commit = base;
    if (ancestry) ref.ancestry = ancestry;
    return { ref, path };
  }

  const { base, ancestry } = splitAncestry(target);
  if (base === '') {
    throw new InvalidArgumentError(
      `invalid format "${shown}": a branch or commit is required before the ancestry`,
      `e.g. ${repo}@master^`,
    );
  }
  if (isCommitId(base)) ref.commit = base;
  else ref.branch = validateName('branch', base);
  if (ancestry) ref.ancestry = ancestry;
  return { ref, path };
}

// `tok` is a branch or commit id with an optional suffix: ^ ^^ ^3 ~ ~~ ~3 .3
function splitAncestry(tok: string): { base: string; ancestry?: Ancestry } {
  const i = tok.search(/[\^~.]/);
  if (i < 0) return { base: tok };
  const base = tok.slice(0, i);
  const suffix = tok.slice(i);
  const shown = escapeControlChars(tok);
  if (suffix.includes('^') && suffix.includes('~')) {
    throw new InvalidArgumentError(
      `invalid ancestry syntax "${shown}", cannot mix ^ and ~ characters`,
      'use only ^ or only ~, e.g. master^^ or master~2',
    );
  }
  const syntaxError = (why: string) =>
    new InvalidArgumentError(
      `invalid ancestry syntax "${shown}": ${why}`,
      'write ^, ^^, ^N, ~, ~~ or ~N for ancestors, or .N for the N-th commit of the branch',
    );
  if (/^(\^+|~+)$/.test(suffix)) return { base, ancestry: { op: '^', n: suffix.length } };
  const m = /^([\^~.])(\d+)$/.exec(suffix);
  if (!m) throw syntaxError('expected ^, ~, ^N, ~N or .N');
  const op: Ancestry['op'] = m[1] === '.' ? '.' : '^';
  const digits = m[2];
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw syntaxError(`${digits} is too large`);
  if (op === '.' && n === 0) throw syntaxError('commits are numbered from 1 (.1 is the first commit of the branch)');
  // `^0` is the commit itself.
  return n === 0 ? { base } : { base, ancestry: { op, n } };
}

function emptyRepo(arg: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid format "${escapeControlChars(arg)}": repo cannot be empty`,
    'start the address with a repo name, e.g. images@master',
  );
}

function filePathNotAllowed(arg: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid format "${escapeControlChars(arg)}": cannot specify a file path`,
    'drop the ":/path" part; this command takes a commit or branch',
  );
}

/** How a commit is named in messages: `repo@branch=id` (the branch empty when it has none). */
export function commitLabel(c: { repo: string; branch: string | null; id: string }): string {
  return `${c.repo}@${c.branch ?? ''}=${c.id}`;
}

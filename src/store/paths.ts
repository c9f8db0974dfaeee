// Repo file paths: cleaning (Go path.Clean, always absolute) and Pachyderm's write-time rules.
import { InvalidArgumentError } from '../errors.js';

/** Longest single path element, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Longest whole cleaned path, in bytes. */
export const MAX_PATH_BYTES = 4096;

// Pachyderm's reserved set: a stored name containing one could never be addressed by a glob.
const GLOB_CHAR_RE = /[*?[\]{}!()@+^]/;
// Names are any Unicode text but control characters (C0, DEL, C1) and lone surrogates (not UTF-8).
const CONTROL_RE = /[\p{Cc}]/u;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// The common case, checked first: printable ASCII is NFC and valid as it is.
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;
// Control, format (bidi overrides…), line/paragraph separators and lone surrogates.
const UNSAFE_DISPLAY_RE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const SHORT_ESCAPES: Record<string, string> = { '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Escape characters that would garble a terminal (JSON-style), leaving everything else as is. */
export function escapeControlChars(s: string): string {
  return s.replace(
    UNSAFE_DISPLAY_RE,
    (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Go `path.Clean("/" + p)`: absolute, no empty, `.` or `..` elements, no trailing slash; root is `/`. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const el of p.split('/')) {
    if (el === '' || el === '.') continue;
    if (el === '..') out.pop();
    else out.push(el);
  }
  return '/' + out.join('/');
}

/**
 * A repo path or name in its one stored form: Unicode NFC, so that `é` typed precomposed and
 * decomposed (as macOS file systems hand names out) is one file, not two.
 */
export function normalizeName(p: string): string {
  return PRINTABLE_ASCII_RE.test(p) ? p : p.normalize('NFC');
}

/** UTF-8 length of `s`. */
export function utf8Bytes(s: string): number {
  return PRINTABLE_ASCII_RE.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

/** Check a path a user wants to write to and return it cleaned and in NFC; throws InvalidArgumentError. */
export function validateWritePath(raw: string): string {
  const shown = escapeControlChars(raw);
  if (!PRINTABLE_ASCII_RE.test(raw)) {
    const control = CONTROL_RE.exec(raw);
    if (control) {
      throw new InvalidArgumentError(
        `path (${shown}) invalid: control character (${escapeControlChars(control[0])}) not allowed in path`,
        'rename the file without control characters (tabs, newlines, escapes)',
      );
    }
    if (LONE_SURROGATE_RE.test(raw)) {
      throw new InvalidArgumentError(`path (${shown}) invalid: not valid Unicode text`, 'rename the file: its name is not valid UTF-8');
    }
  }
  const p = normalizeName(raw);
  const glob = GLOB_CHAR_RE.exec(p);
  if (glob) {
    throw new InvalidArgumentError(
      `path (${shown}) invalid: globbing character (${glob[0]}) not allowed in path`,
      `rename the file without "${glob[0]}": the characters * ? [ ] { } ! ( ) @ + ^ are reserved for glob patterns`,
    );
  }
  // Checked on the raw input: cleaning would silently turn `/a/../b` into `/b`.
  if (p.split('/').some((el) => el === '.' || el === '..')) {
    throw new InvalidArgumentError(
      `path (${shown}) invalid: relative file paths are not allowed`,
      'give the path from the repo root without "." or ".." elements, e.g. /dir/file.txt',
    );
  }
  const clean = cleanPath(p);
  if (clean === '/') {
    throw new InvalidArgumentError(
      `path (${shown}) invalid: a file path is required`,
      'name a file after the colon, e.g. repo@master:/file.txt',
    );
  }
  if (utf8Bytes(clean) > MAX_PATH_BYTES) {
    throw new InvalidArgumentError(
      `path (${escapeControlChars(clean.slice(0, 40))}…) invalid: path is ${utf8Bytes(clean)} bytes, longer than ${MAX_PATH_BYTES} bytes`,
      `shorten the path to at most ${MAX_PATH_BYTES} bytes`,
    );
  }
  const long = splitPath(clean).find((el) => utf8Bytes(el) > MAX_NAME_BYTES);
  if (long !== undefined) {
    throw new InvalidArgumentError(
      `path (${shown}) invalid: name "${long.slice(0, 20)}…" is longer than ${MAX_NAME_BYTES} bytes`,
      `shorten each file or directory name to at most ${MAX_NAME_BYTES} bytes`,
    );
  }
  return clean;
}

/**
 * Whether one name may be written as it is (what validateWritePath checks, per name): the cheap
 * test put -r makes per file. Only printable ASCII qualifies; other names take the full check.
 */
export function isPlainName(name: string): boolean {
  return name.length <= MAX_NAME_BYTES && name !== '.' && name !== '..' && PRINTABLE_ASCII_RE.test(name) && !GLOB_CHAR_RE.test(name) && !name.includes('/');
}

/** Elements of a path after cleaning; the root has none. */
export function splitPath(p: string): string[] {
  const clean = cleanPath(p);
  return clean === '/' ? [] : clean.slice(1).split('/');
}

/** `dir` + `/` + `name`, cleaned. Trusts `name`: a `..` in it is resolved, not rejected. */
export function joinPath(dir: string, name: string): string {
  return cleanPath(`${dir}/${name}`);
}

/** The directory holding `p` (Go `path.Dir`); the parent of `/` is `/`. */
export function parentPath(p: string): string {
  const clean = cleanPath(p);
  const i = clean.lastIndexOf('/');
  return i <= 0 ? '/' : clean.slice(0, i);
}

/** The last element of `p` (Go `path.Base`); the base name of `/` is `/`. */
export function baseName(p: string): string {
  const clean = cleanPath(p);
  return clean === '/' ? '/' : clean.slice(clean.lastIndexOf('/') + 1);
}

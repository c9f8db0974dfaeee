// The names a spec gives: pipeline, repo, branch and input names, checked with Pachyderm's rules
// and words.
import { validateName } from '../store/address.js';
import { escapeControlChars } from '../store/paths.js';
import { invalidAt, rethrowAt, type Fields } from './spec-fields.js';

const MAX_PIPELINE_NAME = 63;

// Pachyderm's order: length, first character (Kubernetes object names), then the character set.
export function checkPipelineName(name: string): void {
  const at = 'pipeline.name';
  if (name.length > MAX_PIPELINE_NAME) {
    throw invalidAt(
      at,
      `pipeline name is ${name.length} characters long, but must have at most ${MAX_PIPELINE_NAME}: ${JSON.stringify(name)}`,
      `use a name of at most ${MAX_PIPELINE_NAME} characters`,
    );
  }
  if (!/^[a-zA-Z0-9]/.test(name)) {
    throw invalidAt(at, 'pipeline names must start with an alphanumeric character', 'start the name with a letter or digit');
  }
  try {
    validateName('pipeline', name);
  } catch (err) {
    rethrowAt(at, err);
  }
}

/** A repo or branch name, with the error located at `at`. */
export function nameOk(kind: 'repo' | 'branch', name: string, at: string): void {
  try {
    validateName(kind, name);
  } catch (err) {
    rethrowAt(at, err);
  }
}

// Input names become /pfs/<name> and environment variable names: the repo name rules fit both.
export function inputNameOk(name: string, at: string): void {
  if (!/^[a-zA-Z0-9_-]+$/.test(name)) {
    throw invalidAt(at, `input name (${escapeControlChars(name)}) invalid: only alphanumeric characters, underscores, and dashes are allowed`);
  }
}

/** `out` is taken: /pfs/out collects the datum's output. */
export function checkOut(name: string, f: Fields): void {
  if (name === 'out') {
    throw invalidAt(f.at, 'input cannot be named "out", as pachyderm already creates /pfs/out to collect job output', 'give the input another "name"');
  }
}

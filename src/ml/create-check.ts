// Checks for `create pipeline`: the static ML spec check, and — when the training data is a CSV
// file already in the input repo — the full type check of the chain against its header and
// sampled types, so a bad chain is refused before any job exists.
import type { InputSpec, PipelineSpec } from '../pipeline/spec-types.js';
import { WINDOW_REFERENCE } from '../monitor/monitor-task.js';
import { fieldError } from './errors.js';
import { schemaFromCsvText } from './readers/csv.js';
import { validateMlSpec, type MlSpec } from './spec.js';

/** Reads the first bytes of `path` (absolute in the repo) at the head of repo@branch; undefined when absent. */
export type ReadHead = (input: { repo: string; branch: string }, path: string) => Promise<string | undefined>;

function pfsInput(input: InputSpec, name: string): { repo: string; branch: string; windowed: boolean } | undefined {
  if (input.kind === 'pfs') return input.name === name ? { repo: input.repo, branch: input.branch, windowed: input.window !== undefined } : undefined;
  if (input.kind === 'cron') return undefined;
  for (const i of input.inputs) {
    const found = pfsInput(i, name);
    if (found) return found;
  }
  return undefined;
}

/**
 * Validate `spec.transform.ml` (no-op for command transforms). Throws MlError (E_INVALID). With
 * `readHead`, a train task whose data path is one CSV file in a pfs input is also type-checked
 * against that file's header and first rows at the input branch's head.
 */
export async function checkMlPipeline(spec: PipelineSpec, readHead?: ReadHead): Promise<void> {
  const raw = spec.transform.ml;
  if (!raw) return;
  const ml = validateMlSpec(raw);
  checkWindowReference(spec.input, ml);
  if (!readHead || ml.task !== 'train' || ml.data.format !== 'csv' || !/\.csv$/i.test(ml.data.path)) return;
  const [, , name, ...rest] = ml.data.path.split('/');
  const input = name ? pfsInput(spec.input, name) : undefined;
  if (!input || rest.length === 0) return;
  const head = await readHead(input, `/${rest.join('/')}`);
  if (head === undefined) return;
  validateMlSpec(raw, schemaFromCsvText(head, { delimiter: ml.data.delimiter, columns: ml.data.columns }));
}

/** `reference: window` compares versions inside a window: the input of `data.path` must have one. */
export function checkWindowReference(input: InputSpec, ml: MlSpec): void {
  if (ml.drift?.reference !== WINDOW_REFERENCE) return;
  const name = ml.data.path.split('/')[2]!;
  const found = pfsInput(input, name);
  if (!found?.windowed)
    throw fieldError(
      'transform.ml.reference',
      `window compares the versions inside a window, but ${found ? `the input ${name}` : `data.path's input ${name}`} ${found ? 'has no window' : 'is not a pfs input'}`,
      `give the input a window, e.g. pfs: {repo: ${found?.repo ?? '...'}, glob: /*.csv, window: {size: 2 commits, every: 1 commit}}, or name a reference file: reference: /pfs/<input>/<file>.csv`,
    );
}

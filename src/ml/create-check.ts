// Checks for `create pipeline`: the static ML spec check, and — when the training data is a CSV
// file already in the input repo — the full type check of the chain against its header and
// sampled types, so a bad chain is refused before any job exists.
import type { InputSpec, PipelineSpec } from '../pipeline/spec-types.js';
import { schemaFromCsvText } from './readers/csv.js';
import { validateMlSpec } from './spec.js';

/** Reads the first bytes of `path` (absolute in the repo) at the head of repo@branch; undefined when absent. */
export type ReadHead = (input: { repo: string; branch: string }, path: string) => string | undefined;

function pfsInput(input: InputSpec, name: string): { repo: string; branch: string } | undefined {
  if (input.kind === 'pfs') return input.name === name ? { repo: input.repo, branch: input.branch } : undefined;
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
export function checkMlPipeline(spec: PipelineSpec, readHead?: ReadHead): void {
  const raw = spec.transform.ml;
  if (!raw) return;
  const ml = validateMlSpec(raw);
  if (!readHead || ml.task !== 'train' || ml.data.format !== 'csv' || !/\.csv$/i.test(ml.data.path)) return;
  const [, , name, ...rest] = ml.data.path.split('/');
  const input = name ? pfsInput(spec.input, name) : undefined;
  if (!input || rest.length === 0) return;
  const head = readHead(input, `/${rest.join('/')}`);
  if (head === undefined) return;
  validateMlSpec(raw, schemaFromCsvText(head, { delimiter: ml.data.delimiter, columns: ml.data.columns }));
}

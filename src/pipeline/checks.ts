// Checks every created or updated pipeline spec must pass before anything is written. Layers
// above the pipeline (the ML transforms) register theirs here, so that each way of creating a
// pipeline (`create pipeline`, `update pipeline`, `tusk lock` and the git hooks, `tusk verify`)
// runs the same ones without naming them.
import type { PipelineSpec } from './spec-types.js';

/** The first bytes of the file `path` at the head of an input branch, as text; undefined when absent. */
export type ReadHead = (input: { repo: string; branch: string }, path: string) => Promise<string | undefined>;

/** Throws a TuskError naming the field and the fix when `spec` must not be created. */
export type PipelineCheck = (spec: PipelineSpec, readHead: ReadHead) => void | Promise<void>;

const checks: PipelineCheck[] = [];

/** Add a check run for every spec created or updated from now on. Idempotent per function. */
export function registerPipelineCheck(check: PipelineCheck): void {
  if (!checks.includes(check)) checks.push(check);
}

/** Run every registered check on each spec, in registration order; the first failure throws. */
export async function runPipelineChecks(specs: readonly PipelineSpec[], readHead: ReadHead): Promise<void> {
  for (const spec of specs) for (const check of checks) await check(spec, readHead);
}

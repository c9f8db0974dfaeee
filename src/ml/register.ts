// Registering the ML transform with the job runner and the ML chain check with pipeline creation,
// kept apart from the rest of src/ml so that processes which may run jobs (every command that
// writes, the background runner) pay nothing for it at startup: the ML modules load when an ML
// datum first runs, or when a spec with an ML transform is created.
import { registerPipelineCheck } from '../pipeline/checks.js';
import { registerTransform } from '../pipeline/job-runner.js';
import type { DatumContext } from '../pipeline/transform.js';

let registered = false;

/** Make pipelines with `transform.ml` run in-process. Idempotent; call once before running jobs. */
export function registerMlTransforms(): void {
  if (registered) return;
  registered = true;
  registerTransform((spec) =>
    spec.transform.ml
      ? {
          // in-process code that only reads its inputs
          protectsInputs: true,
          async run(ctx: DatumContext, which: 'main' | 'error') {
            const { MlTransform } = await import('./transform.js');
            return new MlTransform(spec).run(ctx, which);
          },
        }
      : undefined,
  );
}

let checked = false;

/**
 * Make every way of creating or updating a pipeline refuse an ML section that does not validate,
 * or whose chain does not fit the training CSV already at the input's head. Idempotent.
 */
export function registerMlChecks(): void {
  if (checked) return;
  checked = true;
  registerPipelineCheck(async (spec, readHead) => {
    if (!spec.transform.ml) return;
    const { checkMlPipeline } = await import('./create-check.js');
    await checkMlPipeline(spec, readHead);
  });
}

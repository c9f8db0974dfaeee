// The pipeline transform for `transform.ml`: maps one datum (its /pfs directory, env vars with
// input commit ids) onto an ML task. Failures become the datum's error, one line naming the
// field, stage and column.
import type { InputSpec, PipelineSpec } from '../pipeline/spec-types.js';
import type { DatumContext, Transform, TransformResult } from '../pipeline/transform.js';
import { TuskError } from '../errors.js';
import { setLongTimeout } from '../timers.js';
import { WINDOW_REFERENCE } from '../monitor/monitor-task.js';
import { checkWindowReference } from './create-check.js';
import { runMl, type CardInput, type MlRunContext } from './run.js';
import { validateMlSpec } from './spec.js';

/** Input name → repo and branch, from the pipeline's input tree. */
function pfsInputs(input: InputSpec, out = new Map<string, { repo: string; branch: string }>()): Map<string, { repo: string; branch: string }> {
  if (input.kind === 'pfs' || input.kind === 'cron') out.set(input.name, { repo: input.repo, branch: input.kind === 'pfs' ? input.branch : 'master' });
  else for (const i of input.inputs) pfsInputs(i, out);
  return out;
}

/** The datum's window from the variables a windowed input sets (TUSK_WINDOW_*); undefined without one. */
function windowOf(env: Record<string, string>): MlRunContext['window'] {
  const { TUSK_WINDOW_START: start, TUSK_WINDOW_END: end, TUSK_WINDOW_COMMITS: commits } = env;
  if (start === undefined || end === undefined || commits === undefined) return undefined;
  // count windows give positions, time windows RFC 3339 times
  const byCount = /^\d+$/.test(start);
  return { by: byCount ? 'count' : 'time', start: byCount ? Number(start) : Date.parse(start), end: byCount ? Number(end) : Date.parse(end), commits: commits.split(' ').filter(Boolean) };
}

export class MlTransform implements Transform {
  /** in-process code that only reads its inputs */
  readonly protectsInputs = true;
  constructor(private readonly spec: PipelineSpec) {}

  async run(ctx: DatumContext, which: 'main' | 'error'): Promise<TransformResult> {
    if (which === 'error') return { ok: false, exitCode: null, signal: null, timedOut: false, reason: 'ml transforms have no error handler' };
    const started = Date.now();
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    ctx.signal.addEventListener('abort', onAbort);
    let timedOut = false;
    const timer = ctx.timeoutMs
      ? setLongTimeout(() => {
          timedOut = true;
          abort.abort();
        }, ctx.timeoutMs)
      : undefined;
    try {
      const ml = validateMlSpec(this.spec.transform.ml);
      checkWindowReference(this.spec.input, ml);
      const names = pfsInputs(this.spec.input);
      // the card names only what the task reads: the data's input and the model's (a drift
      // step also reads its reference and its labels, unless the reference is the data's own window)
      const drift = ml.drift && ml.drift.reference !== WINDOW_REFERENCE ? [ml.drift.reference, ml.drift.labels?.path] : [];
      const read = new Set([ml.data.path, ml.model, ...drift].flatMap((p) => (p ? [p.split('/')[2]] : [])));
      const inputs: CardInput[] = Object.keys(ctx.env)
        .filter((k) => k.endsWith('_COMMIT') && !k.startsWith('PACH_') && ctx.env[k.slice(0, -'_COMMIT'.length)] !== undefined && read.has(k.slice(0, -'_COMMIT'.length)))
        .sort()
        .map((k) => {
          const name = k.slice(0, -'_COMMIT'.length);
          const src = names.get(name);
          return { name, ...(src ? { repo: src.repo, branch: src.branch } : {}), commit: ctx.env[k]! };
        });
      const window = windowOf(ctx.env);
      ctx.log('system', `ml ${ml.task}: ${ml.chain.map((s) => s.name).join(' → ') || ml.model || `${ml.drift?.reference} → ${ml.data.path}`}`);
      const r = await runMl(ml, {
        pfsDir: ctx.pfsDir,
        outDir: `${ctx.pfsDir}/out`,
        log: (m) => ctx.log('stdout', m),
        signal: abort.signal,
        pipeline: ctx.pipeline,
        job: ctx.jobId,
        datum: ctx.datumId,
        inputs,
        rawSpec: this.spec.transform.ml,
        tmpDir: ctx.tmpDir,
        previous: ctx.previous,
        appendOutput: ctx.appendOutput,
        ...(window ? { window } : {}),
      });
      ctx.log('system', `ml ${ml.task} finished after ${((Date.now() - started) / 1000).toFixed(2)}s: ${r.outputs.join(', ')}`);
      return { ok: true, exitCode: 0, signal: null, timedOut: false };
    } catch (err) {
      const reason = timedOut ? `timed out after ${ctx.timeoutMs} ms` : ctx.signal.aborted ? 'job stopped' : err instanceof TuskError ? err.message : `ml ${(err as Error).message}`;
      ctx.log('stderr', reason);
      if (!(err instanceof TuskError) && process.env.DEBUG) ctx.log('stderr', (err as Error).stack ?? '');
      return { ok: false, exitCode: 1, signal: null, timedOut, reason };
    } finally {
      timer?.cancel();
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }
}

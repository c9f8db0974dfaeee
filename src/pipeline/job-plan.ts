// Plan: whether a job can start, and the rows of its datums — each one pending, or skipped with
// the result of an earlier run of the same datum hash.
import { killableSync } from '../signals.js';
import type { NodeId } from '../store/hash.js';
import type { DatumRow, JobRow } from '../store/job-records.js';
import { pausePoint, type StoreHandle } from '../store/store-handle.js';
import { DATUM_LEASE_MS } from './datum-claims.js';
import { datumHash, planDatums } from './datums.js';
import type { PfsInput, PipelineSpec } from './spec-types.js';
import { commitHistory } from './windows.js';

export type Readiness = { kind: 'ready' } | { kind: 'waiting' } | { kind: 'unrunnable'; reason: string };

/** A job can start when every input commit is finished; an errored input makes it unrunnable. */
export function readiness(s: StoreHandle, job: JobRow): Readiness {
  const failed: string[] = [];
  for (const p of s.graph.commitProvenance(job.pipeline, job.id)) {
    const c = s.graph.getCommit(p.from_repo, p.from_commit);
    if (!c) return { kind: 'unrunnable', reason: `input commit ${p.from_repo}@${p.from_commit} no longer exists` };
    if (c.finished === null) return { kind: 'waiting' };
    if (c.error) failed.push(p.from_repo);
  }
  if (failed.length > 0) return { kind: 'unrunnable', reason: `unrunnable because the following upstream pipelines failed: ${failed.join(', ')}` };
  return { kind: 'ready' };
}

type PlannedRow = { id: string; hash: string; inputs: string; prior: { output: DatumRow['output'] } | undefined };

/**
 * Plan the job's datums: match the globs and look up earlier results first, outside any
 * transaction (trees are immutable, and a glob over a big input takes as long as the input is
 * big), then record the rows in one short transaction. Two runners planning one job both do the
 * reading; the first to record wins, the other finds the job started and records nothing.
 */
export function planJob(s: StoreHandle, job: JobRow, spec: PipelineSpec, runner: string): void {
  const rows = plannedRows(s, job, spec);
  s.unitOfWork(() => {
    const fresh = s.jobs.getJob(job.pipeline, job.id);
    if (!fresh || fresh.state !== 'JOB_CREATED') return;
    const now = Date.now();
    let seq = 0;
    for (const r of rows) {
      s.jobs.insertDatum({
        pipeline: job.pipeline,
        job: job.id,
        id: r.id,
        seq: seq++,
        hash: r.hash,
        state: r.prior ? 'skipped' : 'pending',
        inputs: r.inputs,
        output: r.prior ? r.prior.output : null,
        started: r.prior ? now : null,
        finished: r.prior ? now : null,
      });
    }
    s.jobs.startJob(job.pipeline, job.id, seq, runner, now + DATUM_LEASE_MS);
  });
}

/** The job's datums in glob order, each with its hash and the earlier result it can reuse. */
function plannedRows(s: StoreHandle, job: JobRow, spec: PipelineSpec): PlannedRow[] {
  const prov = s.graph.commitProvenance(job.pipeline, job.id);
  const resolve = (i: PfsInput) => {
    const p = prov.find((x) => x.from_repo === i.repo && (x.from_branch ?? 'master') === i.branch) ?? prov.find((x) => x.from_repo === i.repo);
    const commitId = i.commit ?? p?.from_commit;
    const c = commitId ? s.graph.getCommit(i.repo, commitId) : undefined;
    return { commit: c?.id ?? '', root: (c?.root as NodeId | null) ?? null, history: () => (c ? commitHistory(s.graph, i.repo, c.id) : []) };
  };
  const planned = killableSync(() => {
    const datums = planDatums(s, spec.input, resolve);
    pausePoint('plan-datums');
    return datums;
  });
  const reuses = spec.reprocess_spec !== 'every_job';
  // the previous job's rows hold every result still in use (skipped rows carry theirs
  // forward): one read of them replaces a lookup per datum; a miss still asks the index
  const recent = new Map<string, { hash: string; output: DatumRow['output'] }>();
  const prev = reuses ? s.jobs.previousJob(job.pipeline, job.id) : undefined;
  if (prev) for (const r of s.jobs.datumResults(job.pipeline, prev)) if (r.state === 'success' || r.state === 'skipped') recent.set(r.id, { hash: r.hash, output: r.output });
  // a pipeline's first job has no earlier result anywhere: no lookup per datum
  const lookUp = reuses && (prev !== undefined || s.jobs.hasDatums(job.pipeline));
  const rows: PlannedRow[] = [];
  const seen = new Set<string>();
  for (const d of planned) {
    if (seen.has(d.id)) continue; // overlapping globs (e.g. /**) can name a datum twice
    seen.add(d.id);
    const hash = datumHash(d.id, d.files, job.salt);
    const hit = recent.get(d.id);
    const prior = !reuses ? undefined : hit && hit.hash === hash ? hit : lookUp ? s.jobs.datumResult(job.pipeline, d.id, hash) : undefined;
    rows.push({ id: d.id, hash, inputs: JSON.stringify(d.files), prior });
  }
  return rows;
}

// Plan: whether a job can start, and the rows of its datums — each one pending, or skipped with
// the result of an earlier run of the same datum hash.
import { killable } from '../signals.js';
import type { DatumFile, DatumRecord, JobRecord } from '../store/job-records.js';
import { pausePoint, type StoreHandle } from '../store/store-handle.js';
import { datumLeaseMs } from './datum-claims.js';
import { datumHash, planDatums, resolveInputs } from './datums.js';
import type { PfsInput, PipelineSpec } from './spec-types.js';

export type Readiness = { kind: 'ready' } | { kind: 'waiting' } | { kind: 'unrunnable'; reason: string };

/** A job can start when every input commit is finished; an errored input makes it unrunnable. */
export async function readiness(s: StoreHandle, job: JobRecord): Promise<Readiness> {
  const failed: string[] = [];
  for (const p of await s.graph.commitProvenance(job.pipeline, job.id)) {
    const c = await s.graph.getCommit(p.fromRepo, p.fromCommit);
    if (!c) return { kind: 'unrunnable', reason: `input commit ${p.fromRepo}@${p.fromCommit} no longer exists` };
    if (c.finished === null) return { kind: 'waiting' };
    if (c.error) failed.push(p.fromRepo);
  }
  if (failed.length > 0) return { kind: 'unrunnable', reason: `unrunnable because the following upstream pipelines failed: ${failed.join(', ')}` };
  return { kind: 'ready' };
}

type PlannedRow = { id: string; hash: string; inputs: DatumFile[]; prior: { output: DatumRecord['output'] } | undefined };

/**
 * Plan the job's datums: match the globs and look up earlier results first, outside any
 * transaction (trees are immutable, and a glob over a big input takes as long as the input is
 * big), then record the rows in one short transaction. Two runners planning one job both do the
 * reading; the first to record wins, the other finds the job started and records nothing.
 */
export async function planJob(s: StoreHandle, job: JobRecord, spec: PipelineSpec, runner: string): Promise<void> {
  const rows = await plannedRows(s, job, spec);
  await s.unitOfWork(async (tx) => {
    const fresh = await tx.jobs.getJob(job.pipeline, job.id);
    if (!fresh || fresh.state !== 'JOB_CREATED') return;
    const now = Date.now();
    // the job row first: on PostgreSQL a second planner's unit then meets the first one's update
    // of that row, a serialization failure (retried, and it finds the job started), never the
    // datums' keys, whose clash is a unique violation that no retry follows
    await tx.jobs.startJob(job.pipeline, job.id, rows.length, runner, now + datumLeaseMs());
    await tx.jobs.insertDatums(
      rows.map((r, seq) => ({
        pipeline: job.pipeline,
        job: job.id,
        id: r.id,
        seq,
        hash: r.hash,
        state: r.prior ? 'skipped' : 'pending',
        inputs: r.inputs,
        output: r.prior ? r.prior.output : null,
        started: r.prior ? now : null,
        finished: r.prior ? now : null,
      })),
    );
  });
}

/** The job's datums in glob order, each with its hash and the earlier result it can reuse. */
async function plannedRows(s: StoreHandle, job: JobRecord, spec: PipelineSpec): Promise<PlannedRow[]> {
  const prov = await s.graph.commitProvenance(job.pipeline, job.id);
  const resolve = await resolveInputs(spec.input, s.graph, async (i: PfsInput) => {
    const p = prov.find((x) => x.fromRepo === i.repo && (x.fromBranch ?? 'master') === i.branch) ?? prov.find((x) => x.fromRepo === i.repo);
    const commitId = i.commit ?? p?.fromCommit;
    return commitId ? s.graph.getCommit(i.repo, commitId) : undefined;
  });
  const planned = await killable(async () => {
    const datums = await planDatums(s, spec.input, resolve);
    pausePoint('plan-datums');
    return datums;
  });
  const reuses = spec.reprocess_spec !== 'every_job';
  // the previous job's rows hold every result still in use (skipped rows carry theirs
  // forward): one read of them replaces a lookup per datum; a miss still asks the index
  const recent = new Map<string, { hash: string; output: DatumRecord['output'] }>();
  const prev = reuses ? await s.jobs.previousJob(job.pipeline, job.id) : undefined;
  if (prev) for (const r of await s.jobs.datumOutcomes(job.pipeline, prev)) if (r.state === 'success' || r.state === 'skipped') recent.set(r.id, { hash: r.hash, output: r.output });
  // a pipeline's first job has no earlier result anywhere: no lookup per datum
  const lookUp = reuses && (prev !== undefined || (await s.jobs.hasDatums(job.pipeline)));
  const rows: PlannedRow[] = [];
  const misses: { id: string; hash: string }[] = [];
  const seen = new Set<string>();
  for (const d of planned) {
    if (seen.has(d.id)) continue; // overlapping globs (e.g. /**) can name a datum twice
    seen.add(d.id);
    const hash = datumHash(d.id, d.files, job.salt);
    const hit = recent.get(d.id);
    const prior = reuses && hit && hit.hash === hash ? hit : undefined;
    if (reuses && !prior && lookUp) misses.push({ id: d.id, hash });
    rows.push({ id: d.id, hash, inputs: d.files, prior });
  }
  // the datums the previous job did not carry: their earlier results asked for all at once
  if (misses.length > 0) {
    const found = await s.jobs.priorResults(job.pipeline, misses);
    if (found.size > 0) for (const r of rows) if (!r.prior) r.prior = found.get(r.id);
  }
  return rows;
}

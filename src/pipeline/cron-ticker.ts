// Cron inputs as a local timer. A tick writes an empty file named after the tick time (RFC 3339,
// UTC) into the input's repo@master as one finished commit; the usual propagation then gives the
// pipeline its job, exactly as a `put file` would. The background runner fires due ticks
// (runCronTimer); `tusk run cron` fires one now (runCron).
//
// Missed ticks (no runner alive, pipeline stopped) are caught up with ONE tick, named after the
// newest schedule time that passed, never one commit per missed time: a laptop that slept through
// a week of "@every 1m" gets one job, not ten thousand.
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { sleep } from '../timers.js';
import type { CommitRecord } from '../store/commit-graph.js';
import { EMPTY_CONTENT_ID, newCommitId } from '../store/hash.js';
import type { PipelineRecord } from '../store/job-records.js';
import type { PathEdit, StoreHandle } from '../store/store-handle.js';
import { parseCronSchedule, type CronSchedule } from './cron-schedule.js';
import { specOf } from './job-runner.js';
import type { CronInput, InputSpec } from './spec-types.js';

/** What one tick wrote: a commit per cron input ticked, all in one commit set. */
export interface CronTick {
  pipeline: string;
  /** the commit set of the tick commits, and the id of the job they created */
  commitSet: string;
  commits: { input: string; repo: string; commit: string; time: string; path: string }[];
  /** the job the tick created; null when the pipeline is stopped */
  job: string | null;
}

/** The cron inputs of an input tree, in datum order. */
export function cronInputs(input: InputSpec): CronInput[] {
  if (input.kind === 'cron') return [input];
  if (input.kind === 'pfs') return [];
  return input.inputs.flatMap(cronInputs);
}

/** Whether some running (not stopped) pipeline has a cron input: the background runner stays for it. */
export async function hasCronPipelines(s: StoreHandle): Promise<boolean> {
  return (await s.jobs.listPipelines()).some((p) => !p.stopped && cronInputs(specOf(p).input).length > 0);
}

/** Go's time.RFC3339 of a UTC time: whole seconds, `Z`. */
export function rfc3339(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const schedules = new Map<string, CronSchedule>();
function scheduleOf(spec: string): CronSchedule {
  let s = schedules.get(spec);
  if (!s) schedules.set(spec, (s = parseCronSchedule(spec)));
  return s;
}

/**
 * The time the schedule of a cron input counts from: its last tick, or else its `start`, or else
 * the pipeline's creation (Pachyderm's default `start`). A later `start` (set by an update) wins.
 */
async function lastTickOf(s: StoreHandle, p: PipelineRecord, input: CronInput): Promise<number> {
  const start = input.start ? Date.parse(input.start) : p.created;
  return Math.max((await s.jobs.lastCronTick(p.name, input.name)) ?? -Infinity, start);
}

/** `tusk run cron`: tick every cron input of a pipeline now, in one commit set. */
export function runCron(s: StoreHandle, name: string, now = Date.now()): Promise<CronTick> {
  return s.unitOfWork(async (tx) => {
    const p = await tx.jobs.getPipeline(name);
    if (!p) throw new NotFoundError('pipeline', name, `pipeline "${name}" not found`, 'run `tusk list pipeline` to see what exists');
    const inputs = cronInputs(specOf(p).input);
    if (inputs.length === 0) throw new InvalidArgumentError("pipeline doesn't have a cron input", `give a pipeline whose input has a "cron" node; ${name} has none`);
    const at = new Date(Math.floor(now / 1000) * 1000);
    for (const i of inputs) {
      if (!(await s.graph.getRepo(i.repo))) throw new NotFoundError('repo', i.repo, `cron repo ${i.repo} of pipeline ${name} not found`, `recreate the pipeline: tusk delete pipeline ${name}, then create it again`);
      const head = await headOf(s, i.repo);
      if (head && head.finished === null)
        throw new ConflictError(`cannot tick: commit ${i.repo}@${head.id} is open`, `finish it first: tusk finish commit ${i.repo}@${head.id}`);
    }
    return writeTicks(s, p, inputs.map((input) => ({ input, at })));
  });
}

/**
 * Write every tick that is due at `now` (at most one per input: the newest missed time), each
 * pipeline in its own transaction. The last tick is re-read inside that transaction and moved in
 * it, so runners in two processes never write the same tick. Returns the ticks written and when
 * the next one falls due (undefined: no cron input will tick again).
 */
export async function fireDueTicks(s: StoreHandle, now = Date.now()): Promise<{ ticks: CronTick[]; nextDue: number | undefined }> {
  const ticks: CronTick[] = [];
  let nextDue: number | undefined;
  for (const listed of await s.jobs.listPipelines()) {
    if (listed.stopped || cronInputs(specOf(listed).input).length === 0) continue;
    const tick = await s.unitOfWork(async (tx) => {
      // stopped, updated or deleted since it was listed?
      const p = await tx.jobs.getPipeline(listed.name);
      if (!p || p.stopped) return undefined;
      const due: { input: CronInput; at: Date }[] = [];
      for (const input of cronInputs(specOf(p).input)) {
        // an input whose repo is gone, or whose head someone left open, waits: nothing to write on
        if (!(await s.graph.getRepo(input.repo)) || (await headOf(s, input.repo))?.finished === null) continue;
        const at = scheduleOf(input.spec).latest(new Date(await lastTickOf(s, p, input)), new Date(now));
        if (at !== undefined) due.push({ input, at });
      }
      return due.length > 0 ? writeTicks(s, p, due) : undefined;
    });
    if (tick) ticks.push(tick);
    const p = await s.jobs.getPipeline(listed.name);
    if (!p || p.stopped) continue;
    for (const input of cronInputs(specOf(p).input)) {
      const next = scheduleOf(input.spec).next(new Date(await lastTickOf(s, p, input)))?.getTime();
      if (next !== undefined && (nextDue === undefined || next < nextDue)) nextDue = next;
    }
  }
  return { ticks, nextDue };
}

/**
 * The background runner's timer: fire due ticks until `signal` aborts, sleeping until the next
 * tick is due, but at most `pollMs`, so pipelines created, updated, stopped or started by other
 * processes are noticed.
 */
export async function runCronTimer(s: StoreHandle, signal: AbortSignal, opts: { pollMs?: number } = {}): Promise<void> {
  const pollMs = opts.pollMs ?? 1000;
  while (!signal.aborted) {
    let wait = pollMs;
    try {
      const { nextDue } = await fireDueTicks(s);
      if (nextDue !== undefined) wait = Math.max(0, Math.min(pollMs, nextDue - Date.now()));
    } catch {
      // A store busy beyond the 30 s wait, or one pipeline whose tick cannot be written, must not
      // end the runner (the jobs of every other pipeline depend on it): the next round retries,
      // and `tusk run cron` reports the error where someone sees it.
    }
    await sleep(wait, signal);
  }
}

async function headOf(s: StoreHandle, repo: string): Promise<CommitRecord | null> {
  const b = await s.graph.getBranch(repo, 'master');
  return b ? (await s.graph.getCommit(repo, b.head) ?? null) : null;
}

/**
 * One commit per cron repo, all with the same new id, then propagation: the pipeline gets one job
 * over all of them (propagating after every head has moved, so the job reads each new tick). Call
 * inside a transaction, with every repo present and every head finished.
 */
async function writeTicks(s: StoreHandle, p: PipelineRecord, due: { input: CronInput; at: Date }[]): Promise<CronTick> {
  const setId = newCommitId();
  // two cron inputs may name the same repo: their ticks share its commit
  const byRepo = new Map<string, { input: CronInput; at: Date }[]>();
  for (const d of due) byRepo.set(d.input.repo, [...(byRepo.get(d.input.repo) ?? []), d]);
  const commits: CronTick['commits'] = [];
  for (const [repo, ticks] of byRepo) {
    const head = await headOf(s, repo);
    const base = head?.root ?? null;
    const edits: PathEdit[] = [];
    for (const { input, at } of ticks) {
      // overwrite: the repo holds only the newest tick, as Pachyderm's DeleteFile("/") + PutFile
      if (input.overwrite && base) for await (const page of s.entryPages(base)) for (const e of page) edits.push({ path: `/${e.name}`, entry: null });
      const path = `/${rfc3339(at)}`;
      edits.push({ path, entry: { name: '', kind: 'file', id: EMPTY_CONTENT_ID, size: 0, files: 1 } });
      await s.jobs.setLastCronTick(p.name, input.name, Math.max(at.getTime(), (await s.jobs.lastCronTick(p.name, input.name)) ?? -Infinity));
      commits.push({ input: input.name, repo, commit: setId, time: rfc3339(at), path });
    }
    const ref = await s.applyPathEdits(base, edits);
    const c = await s.insertCommit({ repo, branch: 'master', parent: head, origin: 'USER', id: setId, finished: true });
    await s.graph.setCommitRoot(repo, c.id, ref ? ref.id : await s.emptyRoot(), ref?.size ?? 0, ref?.files ?? 0);
    await s.graph.setBranch(repo, 'master', c.id, Date.now());
  }
  for (const repo of byRepo.keys()) await s.propagate(repo, 'master', setId);
  return { pipeline: p.name, commitSet: setId, commits, job: (await s.jobs.getJob(p.name, setId)) ? setId : null };
}

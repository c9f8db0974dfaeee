// What a datum's last successful run saw and wrote, for transforms that can build on it instead
// of starting over (a predict over a file that was only appended to predicts the new rows). The
// comparison is by content: an input file is `same`, `appended` (its old bytes are the start of
// the new ones, checked by chunk ids, see store/content-prefix.ts), `changed` or `new`.
import { NotFoundError } from '../errors.js';
import { fromHex, type ContentId, type NodeId } from '../store/hash.js';
import type { DatumRecord, JobRecord } from '../store/job-records.js';
import type { StoreHandle } from '../store/store-handle.js';
import type { DatumFile } from './datums.js';

export type InputChange = { change: 'same' } | { change: 'appended'; before: number; beforeHash: string } | { change: 'changed' } | { change: 'new' };

/** The last successful run of a datum in the job before this one. */
export interface PreviousRun {
  /** the job it ran (or was skipped) in */
  job: string;
  /** how each input of this run differs from the same input then, by `/pfs/<name><path>` */
  inputs: Map<string, InputChange>;
  /**
   * A file of that run's output, by its path in `/pfs/out`: its content id and size, without
   * reading it (an output that only grows is stored as this content plus new bytes). undefined
   * when there is no such file, or its content is gone (its commit deleted, gc run since).
   */
  outputFile(path: string): Promise<{ id: ContentId; size: number } | undefined>;
  /** The bytes of a (small) output file, verified; throws when they cannot be read. */
  readOutput(path: string): Promise<Buffer>;
}

/** The previous job, when its results can be built on: same version of the pipeline, same salt. */
async function comparableJob(s: StoreHandle, job: JobRecord): Promise<JobRecord | undefined> {
  const prevJob = await s.jobs.previousJob(job.pipeline, job.id);
  const prev = prevJob ? await s.jobs.getJob(job.pipeline, prevJob) : undefined;
  // another version of the pipeline, or a new salt (--reprocess), may compute something else
  return prev && prev.version === job.version && prev.salt === job.salt ? prev : undefined;
}

/** The datum's record in the previous job, when it succeeded there. */
async function previousRecord(s: StoreHandle, job: JobRecord, prev: JobRecord | undefined, datum: string): Promise<DatumRecord | undefined> {
  const row = prev ? await s.jobs.getDatum(job.pipeline, prev.id, datum) : undefined;
  return row && (row.state === 'success' || row.state === 'skipped') ? row : undefined;
}

/**
 * How this run's inputs differ from those of the datum's earlier run `row` (in job `prev`);
 * undefined when the previous job did not run this datum, or it did not succeed.
 */
async function compare(s: StoreHandle, job: JobRecord, prev: JobRecord | undefined, row: DatumRecord | undefined, files: readonly DatumFile[]): Promise<PreviousRun | undefined> {
  if (!prev || !row) return undefined;
  const before = new Map(row.inputs.map((f) => [fileKey(f), f]));
  const inputs = new Map<string, InputChange>();
  for (const f of files) {
    const old = before.get(fileKey(f));
    const key = `/pfs/${f.name}${f.path === '/' ? '' : f.path}`;
    if (!old || old.type !== f.type) inputs.set(key, { change: 'new' });
    else if (old.hash === f.hash && !!old.emptyFiles === !!f.emptyFiles) inputs.set(key, { change: 'same' });
    else if (f.type === 'file' && !f.emptyFiles && (await isAppended(s, old, f))) inputs.set(key, { change: 'appended', before: old.size, beforeHash: old.hash });
    else inputs.set(key, { change: 'changed' });
  }
  return {
    job: prev.id,
    inputs,
    outputFile: async (p) => {
      try {
        const e = row.output ? await s.lookupPath(row.output as NodeId, p) : undefined;
        if (e?.kind !== 'file' || !(await s.index.hasContent(e.id as ContentId))) return undefined;
        return { id: e.id as ContentId, size: e.size };
      } catch {
        return undefined; // the tree itself is gone
      }
    },
    readOutput: async (p) => {
      const e = row.output ? await s.lookupPath(row.output as NodeId, p) : undefined;
      if (e?.kind !== 'file') throw new NotFoundError('file', p, `${p} is not in the output of ${job.pipeline}@${prev.id}`);
      const parts: Buffer[] = [];
      for await (const b of s.readContent(e.id as ContentId, { describe: () => `file ${p} in ${job.pipeline}@${prev.id}` })) parts.push(b);
      return Buffer.concat(parts);
    },
  };
}

/**
 * The previous run once per datum of a job. Laying a datum's inputs out (an appended file is its
 * cached earlier copy plus the new bytes) and its transform (a predict over the new rows) both
 * ask how its inputs changed: the prefix check of each file reads its changed chunks, so it is
 * made once. A datum's answer is dropped when the datum ends, so the memo holds only the datums
 * being laid out or run.
 */
export class PreviousRuns {
  /** each datum's comparison, made once (by the first to ask) and shared by layout and transform */
  private readonly known = new Map<string, Promise<PreviousRun | undefined>>();
  // the records read ahead by prepare(), so that of() reads only what the comparison needs
  private readonly records = new Map<string, DatumRecord | undefined>();
  private prev: Promise<JobRecord | undefined> | undefined;
  private prevJob: JobRecord | undefined;

  constructor(
    private readonly s: StoreHandle,
    private readonly job: JobRecord,
  ) {}

  /** Read what of(datum) needs of the metadata; call before of(datum). */
  async prepare(datum: string): Promise<void> {
    if (this.records.has(datum)) return;
    this.prev ??= comparableJob(this.s, this.job);
    const prev = await this.prev;
    this.prevJob = prev;
    this.records.set(datum, await previousRecord(this.s, this.job, prev, datum));
  }

  /** The datum's previous run (see compare), or what that threw, the same each time until forget(datum). */
  of(datum: string, files: readonly DatumFile[]): Promise<PreviousRun | undefined> {
    let k = this.known.get(datum);
    if (!k) {
      if (!this.records.has(datum)) return Promise.reject(new Error(`the previous run of datum ${datum} was asked for before it was read`));
      k = compare(this.s, this.job, this.prevJob, this.records.get(datum), files);
      // asked again, it rejects again; no one asking is no unhandled rejection
      k.catch(() => {});
      this.known.set(datum, k);
    }
    return k;
  }

  forget(datum: string): void {
    this.known.delete(datum);
    this.records.delete(datum);
  }
}

/**
 * Whether `now` is `old` with bytes added at the end. The old content may be gone (its commit
 * deleted and gc run since): then it cannot be built on, and the datum is simply redone.
 */
async function isAppended(s: StoreHandle, old: DatumFile, now: DatumFile): Promise<boolean> {
  try {
    return await s.isContentPrefix(fromHex(old.hash) as ContentId, fromHex(now.hash) as ContentId, { describe: () => `file ${now.path} in ${now.repo}@${now.commit}` });
  } catch {
    return false;
  }
}

function fileKey(f: DatumFile): string {
  return `${f.name}\0${f.window ? `${f.commit}\0` : ''}${f.path}`;
}

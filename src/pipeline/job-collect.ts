// Collect: the job's output tree, from the last successful job's output and the datums that changed.
import { TuskError } from '../errors.js';
import type { NodeId } from '../store/hash.js';
import type { JobRecord } from '../store/job-records.js';
import type { PathEdit, StoreHandle } from '../store/store-handle.js';

/**
 * Merge the job's datum outputs into its output commit: start from the last successful job's
 * output, remove outputs of datums that changed or disappeared, add the new ones. Cost follows
 * what changed, not the number of datums. Two datums writing one path fail the job.
 */
export async function collect(s: StoreHandle, job: JobRecord): Promise<{ root: NodeId | null; error: string | null }> {
  const base = await s.jobs.lastSuccessfulJob(job.pipeline, job.id);
  const baseCommit = base ? await s.graph.getCommit(job.pipeline, base.id) : undefined;
  const baseRoot = (baseCommit?.root as NodeId | null) ?? null;
  const before = new Map<string, NodeId | null>();
  if (base) for (const d of await s.jobs.datumOutcomes(job.pipeline, base.id)) if (d.state === 'success' || d.state === 'skipped') before.set(d.id, d.output);
  const after = new Map<string, NodeId | null>();
  for (const d of await s.jobs.datumOutcomes(job.pipeline, job.id)) after.set(d.id, d.state === 'success' || d.state === 'skipped' ? d.output : null);
  const edits: PathEdit[] = [];
  const removed = new Set<string>();
  const sameTree = (a: NodeId | null | undefined, b: NodeId | null | undefined) => (a ? (b ? a.equals(b) : false) : !b);
  for (const [id, out] of before) {
    if (after.has(id) && sameTree(after.get(id), out)) continue;
    if (out) for await (const batch of s.walkTree(out, '/')) for (const pe of batch) if (pe.entry.kind === 'file') removed.add(pe.path);
  }
  for (const p of removed) edits.push({ path: p, entry: null });
  const added = new Map<string, string>();
  for (const [id, out] of after) {
    if (!out || (before.has(id) && sameTree(before.get(id), out))) continue;
    for await (const batch of s.walkTree(out, '/')) for (const pe of batch) {
      if (pe.entry.kind !== 'file') continue;
      const other = added.get(pe.path) ?? (!removed.has(pe.path) && baseRoot ? (await s.lookupPath(baseRoot, pe.path))?.datum : undefined);
      if (other && other !== id) return { root: baseRoot, error: `duplicate path output by different datums (${pe.path} from ${other} and ${pe.path} from ${id})` };
      added.set(pe.path, id);
      edits.push({ path: pe.path, entry: { ...pe.entry, datum: id } });
    }
  }
  try {
    const ref = await s.applyPathEdits(baseRoot, edits);
    return { root: ref ? ref.id : null, error: null };
  } catch (err) {
    if (err instanceof TuskError) return { root: baseRoot, error: err.message };
    throw err;
  }
}

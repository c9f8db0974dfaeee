// Branches from one store straight into another: a local store and a team store (or two team
// stores), with no object store between them. The sender exports the commits the receiver lacks
// (with provenance, tree pages and content lists, as a push's bundle holds them); the receiver
// imports them as a pull does: every chunk it lacks is read from the sender's packs, verified
// against its id, written to its own packs, and everything is recorded in one unit of work that
// moves the branches by compare-and-set. A failure leaves the receiver unchanged.
import { NotFoundError } from '../errors.js';
import type { BranchMove, Store } from '../store/store.js';
import type { OnProgress } from '../store/types.js';
import { NonFastForwardError } from './errors.js';
import { localBranches } from './push.js';

/** One branch of a transfer: where the receiver's branch was, where the sender's is. */
export interface BranchTransfer {
  repo: string;
  branch: string;
  /** the receiver's head before (null: it has no such branch) */
  receiver: string | null;
  /** the sender's head */
  sender: string;
  /** new commits the receiver got for this branch */
  commits: number;
  /** up-to-date: nothing to do; ahead: the receiver's head descends from the sender's */
  state: 'up-to-date' | 'ahead' | 'fast-forward' | 'new' | 'forced';
}

export interface StoreTransfer {
  branches: BranchTransfer[];
  /** commits recorded in the receiver (counted before, on a dry run) */
  commits: number;
  chunks: number;
  /** bytes of chunk data sent */
  bytes: number;
}

export interface StoreTransferOptions {
  /** REPO or REPO@BRANCH of the sender; every branch of every repo when none */
  targets?: readonly string[];
  /** move the receiver's branches (push, pull); without it only the commits arrive (fetch) */
  move: boolean;
  /** move them even when the receiver's head is not an ancestor of the sender's */
  force?: boolean;
  dryRun?: boolean;
  /** which side is the remote, for messages: a push is refused as git does, a pull as a pull is */
  direction: 'push' | 'pull';
  /** the other store, as messages name it */
  remote: string;
  onProgress?: OnProgress;
}

async function headOf(store: Store, repo: string, branch: string): Promise<string | null> {
  try {
    return await store.branchHead(repo, branch);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/** Send `opts.targets` (every branch) of `sender` into `receiver`. */
export async function transferBranches(sender: Store, receiver: Store, opts: StoreTransferOptions): Promise<StoreTransfer> {
  const targets = await localBranches(sender, opts.targets);
  const branches: BranchTransfer[] = [];
  const moves: BranchMove[] = [];
  const heads: { repo: string; id: string }[] = [];
  const roots: string[] = [];
  // 1. what each branch would do; every check before anything is written
  for (const t of targets) {
    const head = await sender.branchHead(t.repo, t.branch);
    const theirs = await headOf(receiver, t.repo, t.branch);
    const entry: BranchTransfer = { repo: t.repo, branch: t.branch, receiver: theirs, sender: head, commits: 0, state: 'up-to-date' };
    branches.push(entry);
    if (theirs === head) continue;
    const senderHasTheirs = theirs !== null && (await sender.hasCommit(t.repo, theirs));
    // a pull leaves a local branch that is ahead of the other store's as it is
    if (opts.direction === 'pull' && theirs !== null && !senderHasTheirs && (await receiver.hasCommit(t.repo, head)) && (await receiver.isAncestor(t.repo, head, theirs))) {
      entry.state = 'ahead';
      continue;
    }
    const fastForward = theirs === null || (senderHasTheirs && (await sender.isAncestor(t.repo, theirs, head)));
    if (!fastForward && opts.move && !opts.force) {
      throw opts.direction === 'push'
        ? new NonFastForwardError(
            `${opts.remote}'s ${t.repo}@${t.branch} is at ${theirs}, which is not behind this store's head ${head}`,
            `pull first (\`tusk pull ${opts.remote} ${t.repo}@${t.branch}\`), then push again; or \`tusk push --force\` to replace its branch`,
            { repo: t.repo, branch: t.branch, local: head, remote: theirs },
          )
        : new NonFastForwardError(
            `local ${t.repo}@${t.branch} (${theirs}) and ${opts.remote}'s (${head}) have diverged`,
            'keep the local commits on another branch (`tusk create branch`), then `tusk delete branch` this one and pull again',
            { repo: t.repo, branch: t.branch, local: theirs, remote: head },
          );
    }
    entry.state = theirs === null ? 'new' : fastForward ? 'fast-forward' : 'forced';
    heads.push({ repo: t.repo, id: head });
    if (senderHasTheirs) roots.push(...[await sender.commitRoot(t.repo, theirs)].filter((r): r is string => r !== null));
    if (opts.move) moves.push({ repo: t.repo, branch: t.branch, head, expect: theirs, force: !fastForward });
  }
  // 2. the commits the receiver lacks, for every branch at once (shared history is sent once)
  const known = new Map<string, boolean>();
  const isKnown = async (repo: string, id: string) => {
    const key = `${repo}@${id}`;
    let has = known.get(key);
    if (has === undefined) known.set(key, (has = await receiver.hasCommit(repo, id)));
    return has;
  };
  const exp = heads.length > 0 ? await sender.exportCommits(heads, isKnown, roots) : { set: { repos: [], pipelines: [], jobs: [], commits: [], pages: [], contents: [] }, chunks: [] };
  // each branch's new commits: those of the set on its head's first-parent chain
  const sent = new Map(exp.set.commits.map((c) => [`${c.repo}@${c.id}`, c]));
  for (const b of branches) {
    if (b.state === 'up-to-date' || b.state === 'ahead') continue;
    for (let c = sent.get(`${b.repo}@${b.sender}`); c; c = c.parent === null ? undefined : sent.get(`${b.repo}@${c.parent}`)) b.commits++;
  }
  const result: StoreTransfer = { branches, commits: exp.set.commits.length, chunks: 0, bytes: 0 };
  if (opts.dryRun || (exp.set.commits.length === 0 && moves.length === 0)) {
    if (opts.dryRun) result.chunks = exp.chunks.length;
    return result;
  }
  // 3. the chunks the receiver lacks, read from the sender's packs; then the bases of the deltas among them
  const imp = await receiver.openImport();
  try {
    const where = `chunk from ${opts.remote}`;
    for (let batch = await imp.neededChunks(exp.set); batch.length > 0; batch = await imp.missingBases()) {
      for await (const r of sender.readChunkRecords(batch, { whole: !imp.takesDeltas })) {
        await imp.addRecord(r.id, r.record, where);
        opts.onProgress?.({ phase: 'write', unit: 'bytes', done: imp.bytes });
      }
      result.chunks += batch.length;
    }
    result.bytes = imp.bytes;
    result.commits = (
      await imp.commit(exp.set, moves, (m) =>
        new NonFastForwardError(`${m.repo}@${m.branch} moved to a commit that does not lead to ${m.head} while the commits arrived`, 'pull, then run it again', {
          repo: m.repo,
          branch: m.branch,
          local: m.expect,
          remote: m.head,
        }),
      )
    ).commits;
  } finally {
    await imp.abort();
  }
  return result;
}

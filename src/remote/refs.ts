// Branch heads on a remote without conditional writes. A branch moves by an immutable update
// record `refs/<repo>/<branch>/<parent>.<id>` naming the update it follows. After writing one,
// the pusher lists the branch: if its record is the only live child of its parent, the push is
// acknowledged; if a sibling stands, the pusher withdraws its own record (a `.dead` tombstone)
// and fails with "pull first" — unless the sibling withdrew too (each listed before the other's
// tombstone landed): then nothing moved the branch, and it tries again after a random wait. A
// sibling written after an acknowledged record sees that record when it lists (S3 lists are
// read-after-write consistent), so at most one sibling is ever acknowledged and no acknowledged
// commit is lost. Two live siblings (a pusher crashed before withdrawing) are reported as a
// diverged branch, never resolved silently.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DivergedError, NonFastForwardError } from './errors.js';
import { decodeUpdate, encodeUpdate, FORMAT, refsPrefix, ROOT, type UpdateBody } from './layout.js';
import type { ObjectStore } from './object-store.js';

interface RefName {
  parent: string;
  id: string;
  dead: boolean;
}

function parseRef(key: string, prefix: string): RefName | undefined {
  const m = /^([0-9a-f]{32}|root)\.([0-9a-f]{32})(\.dead)?$/.exec(key.slice(prefix.length));
  return m ? { parent: m[1]!, id: m[2]!, dead: m[3] !== undefined } : undefined;
}

/** What a listing of a branch's records says. */
export interface BranchState {
  repo: string;
  branch: string;
  /** the last update of the chain; ROOT when the branch has none */
  tip: string;
  tipBody: UpdateBody | null;
  /** set when two live updates follow one parent */
  diverged?: { at: string; tips: { id: string; head: string }[] };
  /** live children of every update */
  children: Map<string, string[]>;
  /** the parent of every live update */
  parentOf: Map<string, string>;
}

/** Immutable update records, cached on the local disk: each is fetched once. */
export class UpdateCache {
  constructor(
    private readonly os: ObjectStore,
    private readonly dir: string,
  ) {}

  async body(repo: string, branch: string, parent: string, id: string): Promise<UpdateBody> {
    const file = path.join(this.dir, 'updates', id);
    let data: Buffer | undefined;
    try {
      data = fs.readFileSync(file);
    } catch {
      data = await this.os.get(`${refsPrefix(repo, branch)}${parent}.${id}`);
      if (!data) throw new DivergedError({ repo, branch, heads: [`(update ${id} vanished)`] });
      decodeUpdate(data, id);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, data);
    }
    return decodeUpdate(data, id);
  }
}

function liveChildren(keys: readonly string[], prefix: string): { children: Map<string, string[]>; parentOf: Map<string, string> } {
  const refs = keys.map((k) => parseRef(k, prefix)).filter((r): r is RefName => r !== undefined);
  const dead = new Set(refs.filter((r) => r.dead).map((r) => r.id));
  const children = new Map<string, string[]>();
  const parentOf = new Map<string, string>();
  for (const r of refs) {
    if (r.dead || dead.has(r.id)) continue;
    parentOf.set(r.id, r.parent);
    const list = children.get(r.parent) ?? [];
    list.push(r.id);
    children.set(r.parent, list);
  }
  return { children, parentOf };
}

/** Read a branch's state from one listing of its records. */
export async function readBranch(os: ObjectStore, cache: UpdateCache, repo: string, branch: string): Promise<BranchState> {
  const prefix = refsPrefix(repo, branch);
  const { children, parentOf } = liveChildren(await os.list(prefix), prefix);
  const follow = (from: string): string => {
    let cur = from;
    for (let kids = children.get(cur); kids && kids.length === 1; kids = children.get(cur)) cur = kids[0]!;
    return cur;
  };
  const tip = follow(ROOT);
  const kids = children.get(tip) ?? [];
  if (kids.length > 1) {
    const tips = await Promise.all(
      kids.map(async (k) => {
        const t = follow(k);
        return { id: t, head: (await cache.body(repo, branch, parentOf.get(t)!, t)).head };
      }),
    );
    return { repo, branch, tip, tipBody: tip === ROOT ? null : await cache.body(repo, branch, parentOf.get(tip)!, tip), diverged: { at: tip, tips }, children, parentOf };
  }
  return { repo, branch, tip, tipBody: tip === ROOT ? null : await cache.body(repo, branch, parentOf.get(tip)!, tip), children, parentOf };
}

/** The updates from the tip back to (not including) the first whose head `isLocal` says is here, oldest first. */
export async function updatesSince(cache: UpdateCache, state: BranchState, isLocal: (head: string) => boolean | Promise<boolean>): Promise<UpdateBody[]> {
  const out: UpdateBody[] = [];
  let body = state.tipBody;
  while (body && !(await isLocal(body.head))) {
    out.push(body);
    if (body.parent === ROOT) break;
    const grand = state.parentOf.get(body.parent);
    if (grand === undefined) break;
    body = await cache.body(state.repo, state.branch, grand, body.parent);
  }
  return out.reverse();
}

/** How a push that collided with another tries again; tests choose the waits. */
export interface UpdateRetry {
  /** records written at most, the first included */
  attempts: number;
  /** the wait before looking again after withdrawing attempt `n` (0-based) */
  delayMs: (n: number) => number;
}

// Two pushers whose records land before either lists both withdraw; without a retry a race of
// two pushes could refuse both, each told to pull a branch that did not move. A random wait that
// doubles each time breaks the tie: the race window is one put + one list (milliseconds on a
// near bucket, ~100 ms on a far one), so five tries span ~1.5 s in the worst case.
const DEFAULT_RETRY: UpdateRetry = { attempts: 5, delayMs: (n) => 50 * 2 ** n * (0.5 + Math.random()) };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Move a remote branch from `state` to `head`: write the update record, then list the branch
 * and keep the record only if no sibling stands. `force` replaces whatever follows the tip.
 * When every sibling withdrew too, nothing moved the branch and the push tries again.
 */
export async function writeUpdate(
  os: ObjectStore,
  state: BranchState,
  move: { head: string; previous: string | null; bundles: string[]; force: boolean; local: string },
  retry: UpdateRetry = DEFAULT_RETRY,
): Promise<string> {
  const prefix = refsPrefix(state.repo, state.branch);
  const parent = state.tip;
  const replaced = move.force ? (state.children.get(parent) ?? []) : [];
  const standing = async (own?: string) => {
    const { children } = liveChildren(await os.list(prefix), prefix);
    return (children.get(parent) ?? []).filter((k) => k !== own && !replaced.includes(k));
  };
  const refused = (why: string, hint: string) =>
    new NonFastForwardError(`${state.repo}@${state.branch} ${why}`, hint, { repo: state.repo, branch: state.branch, local: move.local, remote: move.previous });
  for (let attempt = 0; ; attempt++) {
    const body: UpdateBody = {
      format: FORMAT,
      repo: state.repo,
      branch: state.branch,
      parent,
      head: move.head,
      previous: move.previous,
      bundles: move.bundles,
      force: move.force,
      time: new Date().toISOString(),
      nonce: randomBytes(8).toString('hex'),
    };
    const { id, data } = encodeUpdate(body);
    await os.putIfAbsent(`${prefix}${parent}.${id}`, data);
    // a forced push withdraws what it replaces, after its own record stands
    if (attempt === 0) for (const other of replaced) await os.put(`${prefix}${parent}.${other}.dead`, Buffer.alloc(0));
    if ((await standing(id)).length === 0) return id;
    await os.put(`${prefix}${parent}.${id}.dead`, Buffer.alloc(0));
    if (attempt + 1 >= retry.attempts) {
      throw refused(
        `was pushed by others at the same time ${retry.attempts} times running; this push was withdrawn each time`,
        'push again (nothing reached the branch, yours or theirs)',
      );
    }
    await sleep(retry.delayMs(attempt));
    // a sibling that still stands was (or is being) acknowledged: this push lost the race
    if ((await standing()).length > 0) throw refused('was pushed by someone else at the same time; this push was withdrawn', 'pull first (`tusk pull`), then push again');
  }
}

// Windows over a branch's history: Beam's fixed and sliding windows, where the elements are the
// commits of the input branch (by commit time or by position) and each commit brings the files it
// added or changed. A window with files is one datum; its id depends on its bounds only, its hash
// on the commits and contents inside, so a window whose commits did not change is skipped.
import { InvalidArgumentError } from '../errors.js';
import type { CommitGraph, CommitRecord } from '../store/commit-graph.js';
import { commitAncestry } from '../store/store-handle.js';
import { compileGlob } from '../store/glob.js';
import type { NodeId } from '../store/hash.js';
import type { Entry, TreeReader } from '../store/store-handle.js';
import type { WindowSpec } from './spec-types.js';

/** A commit of the input branch's history, oldest first, with what the windows need of it. */
export interface HistoryCommit {
  id: string;
  /** commit time in ms since the epoch (the commit's start time) */
  time: number;
  root: NodeId | null;
  parentRoot: NodeId | null;
}

export type { WindowBounds } from '../store/types.js';
import type { WindowBounds } from '../store/types.js';

/** A window with the files its commits brought, in history order then path order. */
export interface WindowElements {
  bounds: WindowBounds;
  files: { commit: string; path: string; entry: Entry }[];
}

/** The history of a commit, oldest first: it and its ancestors, each with its parent's tree. */
export async function commitHistory(graph: Pick<CommitGraph, 'commitChain'>, repo: string, head: string): Promise<HistoryCommit[]> {
  const chain: CommitRecord[] = [];
  // a stretch of the chain per query, not a query per commit
  for await (const c of commitAncestry(graph, repo, head)) chain.push(c);
  chain.reverse();
  return chain.map((c, i) => ({ id: c.id, time: c.started, root: (c.root as NodeId | null) ?? null, parentRoot: i > 0 ? ((chain[i - 1]!.root as NodeId | null) ?? null) : null }));
}

/** More windows per commit than this is a mistake (`size: 365d, every: 1s`), not a plan. */
export const MAX_WINDOWS_PER_COMMIT = 1000;

const TIME_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A window length as written in a spec: `10 commits` (or `1 commit`), or a duration made of
 * whole numbers with units ms, s, m, h, d, w (`7d`, `1d12h`, `90m`). Throws naming nothing:
 * the caller adds the field.
 */
export function parseWindowLength(text: string): { by: 'time' | 'commits'; size: number } {
  const commits = /^\s*(\d+)\s*commits?\s*$/.exec(text);
  if (commits) {
    const n = Number(commits[1]);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${JSON.stringify(text)} must be at least 1 commit`);
    return { by: 'commits', size: n };
  }
  let rest = text.trim();
  if (rest === '') throw new InvalidArgumentError('empty window length');
  let total = 0;
  while (rest !== '') {
    const m = /^(\d+)(ms|s|m|h|d|w)/.exec(rest);
    if (!m) throw new InvalidArgumentError(`invalid window length ${JSON.stringify(text)}`);
    total += Number(m[1]) * TIME_UNITS_MS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!Number.isSafeInteger(total) || total <= 0) throw new InvalidArgumentError(`window length ${JSON.stringify(text)} must be positive`);
  return { by: 'time', size: total };
}

/** Starts of the windows that hold `x` (a time or a position), oldest first. */
export function windowStarts(w: WindowSpec, x: number): number[] {
  const starts: number[] = [];
  // the newest window holding x starts at the last multiple of `every` not after x
  for (let start = Math.floor(x / w.every) * w.every; start > x - w.size; start -= w.every) {
    if (w.by === 'commits' && start < 0) break;
    starts.push(start);
  }
  return starts.reverse();
}

/**
 * The files a commit added or changed against its parent, below every path the glob matches
 * (a matched directory brings what changed below it). Deletions bring nothing.
 */
export async function changedFiles(reader: TreeReader, before: NodeId | null, after: NodeId | null, glob: string): Promise<{ path: string; entry: Entry }[]> {
  const g = compileGlob(glob);
  const selected = (path: string): boolean => {
    if (g.pattern === '/') return true;
    for (let p = path; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) if (g.match(p)) return true;
    return false;
  };
  const out: { path: string; entry: Entry }[] = [];
  await changedBelow(reader, before, after, '', (f) => {
    if (selected(f.path)) out.push(f);
  });
  return out;
}

async function changedBelow(reader: TreeReader, before: NodeId | null, after: NodeId | null, prefix: string, found: (f: { path: string; entry: Entry }) => void): Promise<void> {
  for await (const changes of reader.diffEntries(before, after)) {
    for (const ch of changes) {
      if (ch.op === 'removed') continue;
      const entry = ch.op === 'added' ? ch.entry : ch.after;
      const path = `${prefix}/${entry.name}`;
      if (entry.kind === 'file') {
        found({ path, entry });
        continue;
      }
      const old = ch.op === 'changed' && ch.before.kind === 'dir' ? (ch.before.id as NodeId) : null;
      await changedBelow(reader, old, entry.id as NodeId, path, found);
    }
  }
}

/**
 * The windows of a history that hold at least one file, oldest first. A commit's place is its
 * time (by time) or its position in the history (by commits); commits that changed nothing the
 * glob selects still count as positions.
 */
export async function planWindows(reader: TreeReader, history: readonly HistoryCommit[], w: WindowSpec, glob: string): Promise<WindowElements[]> {
  const windows = new Map<number, WindowElements>();
  for (const [position, c] of history.entries()) {
    const files = (await changedFiles(reader, c.parentRoot, c.root, glob)).map((f) => ({ commit: c.id, ...f }));
    if (files.length === 0) continue;
    for (const start of windowStarts(w, w.by === 'time' ? c.time : position)) {
      let win = windows.get(start);
      if (!win) windows.set(start, (win = { bounds: { by: w.by, start, end: start + w.size }, files: [] }));
      win.files.push(...files);
    }
  }
  // by time, a late commit (an earlier time further down the history) is filed where its time
  // belongs; within a window its files follow their commits' times, then the history order
  const order = new Map(history.map((c, i) => [c.id, { time: c.time, position: i }]));
  const result = [...windows.values()].sort((a, b) => a.bounds.start - b.bounds.start);
  if (w.by === 'time') {
    for (const win of result) {
      win.files.sort((a, b) => {
        const x = order.get(a.commit)!;
        const y = order.get(b.commit)!;
        return x.time - y.time || x.position - y.position;
      });
    }
  }
  return result;
}

/** A window's bounds as people read them: RFC 3339 times, or positions in the history. */
export function formatWindowBound(by: WindowBounds['by'], x: number): string {
  return by === 'time' ? new Date(x).toISOString() : String(x);
}

/** `[2026-12-01T00:00:00.000Z, 2026-12-08T00:00:00.000Z)` or `commits [0, 10)`. */
export function describeWindow(w: WindowBounds): string {
  const range = `[${formatWindowBound(w.by, w.start)}, ${formatWindowBound(w.by, w.end)})`;
  return w.by === 'time' ? range : `commits ${range}`;
}

/** A window length as a spec would write it: `7d`, `90m`, `10 commits`. */
export function formatWindowLength(by: WindowSpec['by'], n: number): string {
  if (by === 'commits') return `${n} ${n === 1 ? 'commit' : 'commits'}`;
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) if (n % TIME_UNITS_MS[unit]! === 0) return `${n / TIME_UNITS_MS[unit]!}${unit}`;
  return `${n}ms`;
}

/** `window 7d every 1d`, or `window 10 commits` for fixed windows (the INPUT column). */
export function describeWindowSpec(w: WindowSpec): string {
  const size = formatWindowLength(w.by, w.size);
  return w.every === w.size ? `window ${size}` : `window ${size} every ${formatWindowLength(w.by, w.every)}`;
}

/**
 * The variables of a datum's window (none without a windowed input): its bounds, and the
 * commits that brought its files, oldest first (their directories under `/pfs/<name>/`).
 */
export function windowEnv(files: readonly { commit: string; window?: WindowBounds }[]): Record<string, string> {
  const inWindow = files.filter((f) => f.window);
  const w = inWindow[0]?.window;
  if (!w) return {};
  const commits = [...new Set(inWindow.map((f) => f.commit))];
  return {
    TUSK_WINDOW_START: formatWindowBound(w.by, w.start),
    TUSK_WINDOW_END: formatWindowBound(w.by, w.end),
    TUSK_WINDOW_COMMITS: commits.join(' '),
  };
}

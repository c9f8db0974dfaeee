// Datums: the units of work a pipeline's input produces from its input commits (PACHYDERM.md §4).
// A pure function of the input spec and the input trees; ids depend on names and paths only,
// hashes also on content and the pipeline's salt.
import type { CommitGraph, CommitRecord } from '../store/commit-graph.js';
import { compileGlob, expandTemplate } from '../store/glob.js';
import { hashBytes, type NodeId } from '../store/hash.js';
import type { TreeReader } from '../store/store-handle.js';
import type { CronInput, InputSpec, PfsInput } from './spec-types.js';
import { commitHistory, planWindows, type HistoryCommit } from './windows.js';

/** One file or directory a datum sees: the store records it with the datum. */
export type { DatumFile } from '../store/types.js';
import type { DatumFile } from '../store/types.js';

export interface PlannedDatum {
  id: string;
  files: DatumFile[];
}

/** The commit a pfs input reads in this job. */
export interface ResolvedPfs {
  commit: string;
  root: NodeId | null;
  /** the commits up to and including `commit`, oldest first (read only for windowed inputs) */
  history: () => HistoryCommit[];
}

export type ResolvePfs = (input: PfsInput) => ResolvedPfs;

/** The commit a pfs input reads, as the metadata answers it; undefined: none (the input is empty). */
export type LookUpPfs = (input: PfsInput) => Promise<CommitRecord | undefined>;

/**
 * Look up every pfs input of `input` before planning, so that planning itself (a pure function of
 * trees) reads no metadata: each input's commit once, and the history of the windowed ones.
 */
export async function resolveInputs(input: InputSpec, graph: Pick<CommitGraph, 'commitChain'>, lookUp: LookUpPfs): Promise<ResolvePfs> {
  const key = (i: PfsInput) => JSON.stringify([i.repo, i.branch, i.commit ?? null]);
  const got = new Map<string, ResolvedPfs & { windowed: boolean }>();
  for (const i of pfsInputs(input)) {
    const had = got.get(key(i));
    if (had && (had.windowed || !i.window)) continue;
    const c = await lookUp(i);
    const history = i.window && c ? await commitHistory(graph, i.repo, c.id) : [];
    got.set(key(i), { commit: c?.id ?? '', root: (c?.root as NodeId | null) ?? null, history: () => history, windowed: Boolean(i.window) });
  }
  return (i) => got.get(key(i))!;
}

/** A cron input reads its repo's master, one datum per tick file. */
function cronAsPfs(input: CronInput): PfsInput {
  return { kind: 'pfs', name: input.name, repo: input.repo, branch: 'master', glob: '/*' };
}

/** The pfs inputs an input reads, as combine() resolves them. */
function pfsInputs(input: InputSpec): PfsInput[] {
  switch (input.kind) {
    case 'pfs':
      return [input];
    case 'cron':
      return [cronAsPfs(input)];
    default:
      return input.inputs.flatMap(pfsInputs);
  }
}

/** All datums of an input, in enumeration order (PACHYDERM.md §4.1, §4.3). */
export async function planDatums(reader: TreeReader, input: InputSpec, resolve: ResolvePfs): Promise<PlannedDatum[]> {
  return (await combine(reader, input, resolve)).map((files) => ({ id: datumId(files), files }));
}

/** Each of `inputs` combined, one after the other (their trees are read in order). */
async function combineEach(reader: TreeReader, inputs: InputSpec[], resolve: ResolvePfs): Promise<DatumFile[][][]> {
  const out: DatumFile[][][] = [];
  for (const i of inputs) out.push(await combine(reader, i, resolve));
  return out;
}

async function combine(reader: TreeReader, input: InputSpec, resolve: ResolvePfs): Promise<DatumFile[][]> {
  switch (input.kind) {
    case 'pfs':
      return pfsDatums(reader, input, resolve);
    case 'cron':
      return pfsDatums(reader, cronAsPfs(input), resolve);
    case 'union':
      return (await combineEach(reader, input.inputs, resolve)).flat();
    case 'cross':
      return cross(await combineEach(reader, input.inputs, resolve));
    case 'join':
      return join(reader, input.inputs, resolve);
    case 'group':
      return group(reader, input.inputs, resolve);
  }
}

async function pfsDatums(reader: TreeReader, input: PfsInput, resolve: ResolvePfs): Promise<DatumFile[][]> {
  const resolved = resolve(input);
  if (input.window) return windowDatums(reader, input, resolved);
  const { commit, root } = resolved;
  if (!root) return [];
  const g = compileGlob(input.glob);
  const out: DatumFile[][] = [];
  for await (const batch of reader.globTree(root, input.glob)) for (const m of batch) {
    const captures = g.match(m.path) ?? [];
    const f: DatumFile = {
      name: input.name,
      repo: input.repo,
      branch: input.branch,
      commit,
      path: m.path,
      type: m.entry.kind,
      hash: m.entry.id.toString('hex'),
      size: m.entry.size,
    };
    if (input.join_on) f.joinKey = expandTemplate(input.join_on, captures);
    if (input.group_by) f.groupKey = expandTemplate(input.group_by, captures);
    if (input.empty_files) f.emptyFiles = true;
    out.push([f]);
  }
  return out;
}

/** One datum per window of the branch's history that holds files (src/pipeline/windows.ts). */
async function windowDatums(reader: TreeReader, input: PfsInput, resolved: ResolvedPfs): Promise<DatumFile[][]> {
  if (!resolved.commit) return [];
  return (await planWindows(reader, resolved.history(), input.window!, input.glob)).map((w) =>
    w.files.map((f) => {
      const file: DatumFile = {
        name: input.name,
        repo: input.repo,
        branch: input.branch,
        commit: f.commit,
        path: f.path,
        type: 'file',
        hash: f.entry.id.toString('hex'),
        size: f.entry.size,
        window: w.bounds,
      };
      if (input.empty_files) file.emptyFiles = true;
      return file;
    }),
  );
}

/** Cartesian product; any empty side makes the whole cross empty. */
function cross(sides: DatumFile[][][]): DatumFile[][] {
  let acc: DatumFile[][] = [[]];
  for (const side of sides) {
    const next: DatumFile[][] = [];
    for (const a of acc) for (const b of side) next.push([...a, ...b]);
    acc = next;
  }
  return sides.length === 0 ? [] : acc;
}

async function keyedSides(reader: TreeReader, inputs: InputSpec[], resolve: ResolvePfs, key: 'joinKey' | 'groupKey'): Promise<{ outer: boolean; byKey: Map<string, DatumFile[][]> }[]> {
  const combined = await combineEach(reader, inputs, resolve);
  return inputs.map((i, n) => {
    const byKey = new Map<string, DatumFile[][]>();
    for (const d of combined[n]!) {
      const k = d[0]?.[key];
      if (k === undefined) continue;
      let list = byKey.get(k);
      if (!list) byKey.set(k, (list = []));
      list.push(d);
    }
    return { outer: i.kind === 'pfs' && i.outer_join === true, byKey };
  });
}

/**
 * Inner join on `join_on` keys: for a key every input has, the cross product of their matches.
 * A key some input lacks yields a datum of the outer inputs that have it (nothing if none is outer).
 */
async function join(reader: TreeReader, inputs: InputSpec[], resolve: ResolvePfs): Promise<DatumFile[][]> {
  const sides = await keyedSides(reader, inputs, resolve, 'joinKey');
  const keys = [...new Set(sides.flatMap((s) => [...s.byKey.keys()]))].sort();
  const out: DatumFile[][] = [];
  for (const k of keys) {
    const having = sides.filter((s) => s.byKey.has(k));
    const chosen = having.length === sides.length ? having : having.filter((s) => s.outer);
    if (chosen.length > 0) out.push(...cross(chosen.map((s) => s.byKey.get(k)!)));
  }
  return out;
}

/** One datum per `group_by` key, holding every file of every input with that key. */
async function group(reader: TreeReader, inputs: InputSpec[], resolve: ResolvePfs): Promise<DatumFile[][]> {
  const sides = await keyedSides(reader, inputs, resolve, 'groupKey');
  const keys = [...new Set(sides.flatMap((s) => [...s.byKey.keys()]))].sort();
  return keys.map((k) => sides.flatMap((s) => (s.byKey.get(k) ?? []).flat()));
}

/** Each part's UTF-8 bytes followed by their length (64-bit big-endian), in one buffer: planning encodes two per datum. */
function lengthPrefixed(parts: readonly string[]): Buffer {
  let size = 0;
  for (const p of parts) size += Buffer.byteLength(p) + 8;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    const n = out.write(p, at);
    at += n;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), at);
    out.writeUInt32BE(n >>> 0, at + 4);
    at += 8;
  }
  return out;
}

/**
 * Datum id: which files (input name, repo, branch, path), never their content. A windowed input
 * counts once, by its window's bounds: the window keeps its id while commits come and go in it.
 */
export function datumId(files: readonly DatumFile[]): string {
  const parts: string[] = [];
  const windows = new Set<string>();
  for (const f of files) {
    if (!f.window) {
      parts.push(f.name, f.repo, f.branch, f.path);
      continue;
    }
    const key = `window:${f.window.by}:${f.window.start}:${f.window.end}`;
    if (windows.has(`${f.name}\0${key}`)) continue;
    windows.add(`${f.name}\0${key}`);
    parts.push(f.name, f.repo, f.branch, key);
  }
  return hashBytes(lengthPrefixed(parts)).toString('hex');
}

/**
 * Datum hash: the id, the content of every file, and the pipeline's salt. Equal hash ⇒ equal
 * result. A windowed file adds its commit and path, which its id leaves out.
 */
export function datumHash(id: string, files: readonly DatumFile[], salt: string): string {
  return hashBytes(
    lengthPrefixed([id, ...files.map((f) => `${f.type}:${f.hash}${f.emptyFiles ? ':empty' : ''}${f.window ? `@${f.commit}${f.path}` : ''}`), salt]),
  ).toString('hex');
}

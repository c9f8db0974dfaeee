// A spec's input tree: pfs and cron leaves under cross, union, join and group; the checks that
// span the tree (unique names, one window), Pachyderm's order of sub-inputs, and how a tree is
// described and listed.
import { CRON_FIELDS, readCron } from './spec-cron-input.js';
import { Fields, invalidAt, type SpecContext } from './spec-fields.js';
import { PFS_FIELDS, readPfs } from './spec-pfs-input.js';
import type { ComboInput, InputSpec, PfsInput } from './spec-types.js';
import { describeWindowSpec } from './windows.js';

/** A leaf input a pipeline reads from; cron leaves read their tick repo's master. */
export interface InputRepo {
  kind: 'pfs' | 'cron';
  name: string;
  repo: string;
  branch: string;
}

const INPUT_KINDS = ['pfs', 'cross', 'union', 'join', 'group', 'cron'] as const;

type Combo = ComboInput['kind'];

/** One input object (exactly one kind set), read recursively; `parent` is the combinator it sits in. */
export function readInput(v: unknown, at: string, ctx: SpecContext, parent: Combo | undefined): InputSpec {
  const node = Fields.of(v, at, INPUT_KINDS, 'an input is an object with one of: pfs, cross, union, join, group, cron');
  const kinds = INPUT_KINDS.filter((k) => node.has(k));
  if (kinds.length === 0) throw invalidAt(at, 'no input set', 'set one of: pfs, cross, union, join, group, cron');
  if (kinds.length > 1) throw invalidAt(at, `multiple input types set (${kinds.join(', ')})`, 'put each in its own input, e.g. inside a cross');
  const kind = kinds[0];
  const input =
    kind === 'pfs'
      ? readPfs(node.fields('pfs', PFS_FIELDS)!, ctx, parent)
      : kind === 'cron'
        ? readCron(node.fields('cron', CRON_FIELDS)!, ctx)
        : readCombo(kind, node, ctx);
  ctx.paths.set(input, node.path(kind));
  return input;
}

function readCombo(kind: Combo, node: Fields, ctx: SpecContext): ComboInput {
  const at = node.path(kind);
  const list = node.list(kind)!;
  if (list.length === 0) throw invalidAt(at, `no input set: a ${kind} needs at least one input`);
  const inputs = list.map((sub, i) => readInput(sub, `${at}[${i}]`, ctx, kind));
  if (kind === 'join' || kind === 'group') {
    const key = kind === 'join' ? 'join_on' : 'group_by';
    inputs.forEach((sub, i) => {
      const subAt = ctx.paths.get(sub)!;
      if (sub.kind !== 'pfs') throw invalidAt(`${at}[${i}]`, `${kind} inputs must be pfs inputs`, `a ${kind} matches files by the key each pfs input's ${key} builds`);
      if (!sub[key]) {
        throw invalidAt(subAt, `${kind} inputs must specify ${key}`, `set "${key}" to a template over the glob's capture groups, e.g. glob "/(*).txt" with ${key} "$1"`);
      }
    });
  }
  return { kind, inputs };
}

// One windowed input per pipeline: the window's bounds are the datum's (TUSK_WINDOW_START/END).
export function checkWindows(input: InputSpec, ctx: SpecContext): void {
  const windowed = inputLeaves(input).filter((i): i is PfsInput => i.kind === 'pfs' && i.window !== undefined);
  if (windowed.length > 1) {
    throw invalidAt(`${ctx.paths.get(windowed[1]!)!}.window`, 'only one input of a pipeline can have a window', `keep the window on ${windowed[0]!.name}, or split the pipeline in two`);
  }
}

function inputLeaves(input: InputSpec): InputSpec[] {
  return input.kind === 'pfs' || input.kind === 'cron' ? [input] : input.inputs.flatMap(inputLeaves);
}

// Pachyderm's validateNames: names are unique within a datum; a union's branches never meet in one
// datum, so each branch starts from the names seen so far and they are merged afterwards.
export function checkNames(input: InputSpec, names: Set<string>, ctx: SpecContext): void {
  if (input.kind === 'pfs' || input.kind === 'cron') {
    if (names.has(input.name)) {
      throw invalidAt(ctx.paths.get(input)!, `name "${input.name}" was used more than once`, 'give one of the inputs its own "name"');
    }
    names.add(input.name);
    return;
  }
  if (input.kind !== 'union') {
    for (const sub of input.inputs) checkNames(sub, names, ctx);
    return;
  }
  const seen = input.inputs.map((sub) => {
    const copy = new Set(names);
    checkNames(sub, copy, ctx);
    return copy;
  });
  for (const s of seen) for (const n of s) names.add(n);
}

function inputName(input: InputSpec): string {
  return input.kind === 'pfs' || input.kind === 'cron' ? input.name : inputName(input.inputs[0]);
}

// Pachyderm sorts sub-inputs by name (a combinator's name is its first sub-input's) before
// building datums; byte order, as Go's sort.Strings.
export function sortInputs(input: InputSpec): void {
  if (input.kind === 'pfs' || input.kind === 'cron') return;
  for (const sub of input.inputs) sortInputs(sub);
  input.inputs.sort((a, b) => {
    const [x, y] = [inputName(a), inputName(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** pachctl's INPUT column: `repo:glob`, `(a:/ ⨯ b:/)`, `(a ∪ b)`, `(a ⋈ b)`, `(Group: a, b)`, `name:spec`. */
export function describeInput(input: InputSpec): string {
  switch (input.kind) {
    case 'pfs':
      return input.window ? `${input.repo}:${input.glob} (${describeWindowSpec(input.window)})` : `${input.repo}:${input.glob}`;
    case 'cron':
      return `${input.name}:${input.spec}`;
    case 'group':
      return `(Group: ${input.inputs.map(describeInput).join(', ')})`;
    default: {
      const op = { cross: ' ⨯ ', union: ' ∪ ', join: ' ⋈ ' }[input.kind];
      return `(${input.inputs.map(describeInput).join(op)})`;
    }
  }
}

/** Every pfs and cron leaf of an input tree, in datum order; a repo read twice appears twice. */
export function inputRepos(input: InputSpec): InputRepo[] {
  switch (input.kind) {
    case 'pfs':
      return [{ kind: 'pfs', name: input.name, repo: input.repo, branch: input.branch }];
    case 'cron':
      return [{ kind: 'cron', name: input.name, repo: input.repo, branch: 'master' }];
    default:
      return input.inputs.flatMap(inputRepos);
  }
}

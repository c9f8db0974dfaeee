// A pfs input: repo, branch, glob, pinned commit, join and group keys, and its window.
import { isCommitId } from '../store/address.js';
import { compileGlob, validateTemplate, type CompiledGlob } from '../store/glob.js';
import { ignoreProject } from './spec-cluster.js';
import { expected, invalidAt, malformed, rethrowAt, type Fields, type SpecContext } from './spec-fields.js';
import { checkOut, inputNameOk, nameOk } from './spec-names.js';
import type { ComboInput, PfsInput, WindowSpec } from './spec-types.js';
import { MAX_WINDOWS_PER_COMMIT, parseWindowLength } from './windows.js';

export const PFS_FIELDS = [
  'name',
  'repo',
  'branch',
  'glob',
  'commit',
  'join_on',
  'outer_join',
  'group_by',
  'lazy',
  'empty_files',
  'window',
  'repo_type',
  's3',
  'trigger',
  'project',
];
export const WINDOW_FIELDS = ['size', 'every'];


/** A pfs input; join_on, group_by and outer_join are warned about outside their combinator. */
export function readPfs(p: Fields, ctx: SpecContext, parent: ComboInput['kind'] | undefined): PfsInput {
  const repo = p.string('repo');
  if (!repo) throw invalidAt(p.at, 'input must specify a repo', 'add "repo": "<repo>"');
  nameOk('repo', repo, p.path('repo'));
  const glob = p.string('glob');
  if (!glob) throw invalidAt(p.at, 'input must specify a glob', 'add "glob": "/*" (one datum per top-level entry) or "/" (the whole repo)');
  const name = p.string('name') || repo;
  if (p.has('name')) inputNameOk(name, p.path('name'));
  checkOut(name, p);
  const branch = p.string('branch') || 'master';
  nameOk('branch', branch, p.path('branch'));

  let compiled: CompiledGlob;
  try {
    compiled = compileGlob(glob);
  } catch (err) {
    rethrowAt(p.path('glob'), err);
  }
  const input: PfsInput = { kind: 'pfs', name, repo, branch, glob: compiled.pattern };

  const commit = p.string('commit');
  if (commit) {
    if (!isCommitId(commit)) throw invalidAt(p.path('commit'), `${JSON.stringify(commit)} is not a commit id`, 'a commit id is 32 lowercase hex characters');
    input.commit = commit;
  }
  for (const [key, combo] of [['join_on', 'join'], ['group_by', 'group']] as const) {
    const template = p.string(key);
    if (!template) continue;
    try {
      validateTemplate(template, compiled.captureCount, { glob: compiled.pattern, field: key });
    } catch (err) {
      rethrowAt(p.path(key), err);
    }
    input[key] = template;
    if (parent !== combo) ctx.warnings.push(`${p.path(key)} is ignored: the input is not part of a ${combo}`);
  }
  const outer = p.bool('outer_join');
  if (outer) {
    input.outer_join = true;
    if (parent !== 'join') ctx.warnings.push(`${p.path('outer_join')} is ignored: the input is not part of a join`);
  }
  if (p.bool('lazy')) input.lazy = true;
  if (p.bool('empty_files')) input.empty_files = true;
  const window = p.fields('window', WINDOW_FIELDS);
  if (window) {
    input.window = readWindow(window);
    if (parent === 'join' || parent === 'group' || input.join_on || input.group_by) {
      throw invalidAt(p.path('window'), `a windowed input cannot be part of a ${parent ?? (input.join_on ? 'join' : 'group')}`, 'a window is one datum of many files: cross it with other inputs, or drop the window');
    }
  }
  const repoType = p.string('repo_type');
  if (repoType && repoType !== 'user') {
    throw invalidAt(p.path('repo_type'), `repo_type ${JSON.stringify(repoType)} is not supported: tusk pipelines read user repos only`, 'remove repo_type or set it to "user"');
  }
  if (p.bool('s3')) throw invalidAt(p.path('s3'), 's3 inputs are not supported by tusk: there is no S3 gateway', 'read the files under /pfs/<name> instead');
  if (p.has('trigger')) throw invalidAt(p.path('trigger'), 'input triggers are not supported by tusk', 'commit to the input branch when the pipeline should run');
  ignoreProject(p, ctx);
  return input;
}

// `size: 7d, every: 1d` (sliding by time), `size: 10 commits` (fixed by count); every ≤ size, so
// that no commit falls between two windows unseen.
function readWindow(w: Fields): WindowSpec {
  const length = (f: 'size' | 'every') => {
    const v = w.get(f);
    const hint = 'write a duration such as "7d", "12h" or "1d12h" (units ms, s, m, h, d, w), or a count such as "10 commits"';
    if (typeof v !== 'string') throw expected(w.path(f), 'string', v, typeof v === 'number' ? `write "${v} commits" or a duration such as "${v}d"` : hint);
    try {
      return parseWindowLength(v);
    } catch (err) {
      throw malformed(`${w.path(f)}: ${(err as Error).message}`, hint);
    }
  };
  if (!w.has('size')) throw invalidAt(w.at, 'window must specify a size', 'add "size": "7d" (by commit time) or "size": "10 commits" (by count)');
  const size = length('size');
  const every = w.has('every') ? length('every') : size;
  if (every.by !== size.by) {
    throw invalidAt(w.path('every'), `every is ${every.by === 'time' ? 'a duration' : 'a count of commits'} but size is ${size.by === 'time' ? 'a duration' : 'a count of commits'}`, 'give both in the same unit');
  }
  if (every.size > size.size) throw invalidAt(w.path('every'), 'every must not be longer than size: commits between two windows would be in none', `make every at most ${w.get('size') as string}`);
  if (size.size / every.size > MAX_WINDOWS_PER_COMMIT) {
    throw invalidAt(w.path('every'), `every is too short: each commit would fall into ${Math.ceil(size.size / every.size)} windows (at most ${MAX_WINDOWS_PER_COMMIT})`, 'make every longer or size shorter');
  }
  return { by: size.by, size: size.size, every: every.size };
}

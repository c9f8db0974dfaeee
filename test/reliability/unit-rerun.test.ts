// The unit-of-work contract says a unit's body may run more than once (a network database retries
// it after a serialization conflict). TUSK_TEST_UNIT_RERUN=1 makes SQLite do that to every
// outermost unit: the body runs, is rolled back, and runs again before the commit. The same CLI
// workflow with and without it must leave the same store: a body with an effect outside the
// metadata (a counter, a list of the caller's, a file) shows here as a difference.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { runTusk, tuskJson, type RunOptions } from '../cli/cli-helpers.js';

const root = tempDir('tusk-unit-rerun-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type Commit = { repo: string; id: string; branch: string | null; origin: string; description: string; finished: string | null; sizeBytes: number; files: number; error: string | null; provenance: unknown[] };
type FileInfo = { path: string; type: string; sizeBytes: number; hash: string };
type Job = { pipeline: string; id: string; state: string; processed: number; skipped: number; failed: number; total: number };

/** Replace every commit id by its position in first-seen order, and tick times by a placeholder. */
function normalizer() {
  const ids = new Map<string, string>();
  const id = (x: string) => {
    if (!ids.has(x)) ids.set(x, `#${ids.size}`);
    return ids.get(x)!;
  };
  const text = (s: string) => s.replace(/\b[0-9a-f]{32}\b/g, (m) => id(m)).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, 'TIME');
  return { id, text };
}

/** Run the workflow in a fresh directory; returns what the CLI shows of the result, with ids and times normalized. */
async function workflow(tag: string, rerun: boolean): Promise<unknown> {
  const base = path.join(root, tag);
  const dir = path.join(base, 'store');
  const data = path.join(base, 'data');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(data, 'tree', 'sub'), { recursive: true });
  const env: RunOptions['env'] = { TUSK_RUNNER: 'foreground', TUSK_TEST_UNIT_RERUN: rerun ? '1' : undefined };
  const at = (cwd: string) => ({ cwd, env });
  const run = (args: string[], cwd = dir) => tuskJson([...args, '--json'], at(cwd));
  const out: Record<string, unknown> = {};

  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(data, 'tree', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  fs.writeFileSync(path.join(data, 'tree', 'sub', 'deep.txt'), 'deep\n');
  fs.writeFileSync(path.join(data, 'one.txt'), 'one\n');
  fs.writeFileSync(path.join(data, 'two.txt'), 'two\n');

  await run(['init'], dir);
  await run(['create', 'repo', 'images']);
  // put, an open commit, delete, squash, delete commit
  const { commit: _, ...putTree } = (await run(['put', 'file', '-r', 'images@master:/tree', '-f', path.join(data, 'tree')])) as { commit: string };
  out.putTree = putTree;
  await run(['start', 'commit', 'images@master', '-m', 'open']);
  await run(['put', 'file', 'images@master:/one.txt', '-f', path.join(data, 'one.txt')]);
  await run(['put', 'file', 'images@master:/two.txt', '-f', path.join(data, 'two.txt')]);
  await run(['finish', 'commit', 'images@master']);
  await run(['delete', 'file', 'images@master:/tree/f0.txt']);
  const squashTarget = ((await run(['list', 'commit', 'images@master'])) as Commit[])[1]!.id;
  out.squashed = ((await run(['squash', 'commit', `images@${squashTarget}`])) as { squashed: Commit[] }).squashed.length;
  await run(['put', 'file', 'images@master:/dropme.txt', '-f', path.join(data, 'one.txt')]);
  const newest = ((await run(['list', 'commit', 'images@master'])) as Commit[])[0]!.id;
  out.deleted = ((await run(['delete', 'commit', `images@${newest}`])) as { deleted: Commit[] }).deleted.length;
  await run(['copy', 'file', 'images@master:/tree/sub', 'images@master:/copied']);

  // a pipeline with a datum per file, run in the foreground as the commits arrive
  fs.writeFileSync(
    path.join(dir, 'sizes.json'),
    JSON.stringify({ pipeline: { name: 'sizes' }, input: { pfs: { repo: 'images', glob: '/tree/*' } }, transform: { cmd: ['sh', '-c', 'find /pfs/images -type f | while read -r f; do wc -c < "$f" > "/pfs/out/$(basename "$f")"; done'] } }),
  );
  await run(['create', 'pipeline', '-f', 'sizes.json']);
  await run(['put', 'file', 'images@master:/tree/f9.txt', '-f', path.join(data, 'two.txt')]);
  await run(['wait', 'commit', 'sizes@master']);

  // a cron tick: its own commit on the tick repo, and a job over it
  fs.writeFileSync(path.join(dir, 'tick.json'), JSON.stringify({ pipeline: { name: 'ticker' }, input: { cron: { name: 'tick', spec: '@hourly' } }, transform: { cmd: ['sh', '-c', 'touch "/pfs/out/ticked"'] } }));
  await run(['create', 'pipeline', '-f', 'tick.json']);
  await run(['run', 'cron', 'ticker']);

  // a file:// remote: push, clone, a new commit pushed, pulled into the clone
  const remote = `file://${path.join(base, 'remote')}`;
  await run(['remote', 'add', 'origin', remote]);
  await run(['push']);
  const clone = path.join(base, 'clone');
  await tuskJson(['clone', remote, clone, '--json'], { env });
  await run(['put', 'file', 'images@master:/later.txt', '-f', path.join(data, 'two.txt')]);
  await run(['push']);
  await run(['pull'], clone);

  const n = normalizer();
  const view = async (cwd: string) => {
    const repos = ((await run(['list', 'repo', '--all'], cwd)) as { name: string; type: string; branches: string[]; sizeBytes: number }[]).map((r) => ({ ...r, created: undefined }));
    const shown: Record<string, unknown> = {};
    for (const r of repos.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const commits = ((await run(['list', 'commit', r.name, '--all'], cwd)) as Commit[]).map((c) => ({
        id: n.id(c.id),
        branch: c.branch,
        origin: c.origin,
        description: c.description,
        finished: c.finished !== null,
        size: c.sizeBytes,
        files: c.files,
        error: c.error,
        provenance: c.provenance.length,
      }));
      const files = ((await run(['list', 'file', `${r.name}@master:/**`], cwd)) as FileInfo[]).map((f) => ({ path: n.text(f.path), type: f.type, size: f.sizeBytes, hash: f.type === 'file' ? f.hash : undefined }));
      shown[r.name] = { type: r.type, branches: r.branches, commits, files };
    }
    return shown;
  };
  out.store = await view(dir);
  out.clone = await view(clone);
  out.jobs = ((await run(['list', 'job', '--expand'])) as Job[])
    .map((j) => ({ pipeline: j.pipeline, state: j.state, processed: j.processed, skipped: j.skipped, failed: j.failed, total: j.total }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const bytes = await runTusk(['get', 'file', 'sizes@master:/f3.txt'], at(dir));
  out.sizeOfF3 = bytes.stdout;
  const copied = await runTusk(['get', 'file', 'images@master:/copied/deep.txt'], at(clone));
  out.copiedInClone = copied.stdout;
  const fsck = await runTusk(['fsck', '--json'], at(dir));
  out.fsck = fsck.json().ok;
  return out;
}

describe('every unit of work run twice (TUSK_TEST_UNIT_RERUN=1)', () => {
  it('leaves what a single run leaves: listings, bytes, jobs and datums, a clone and a pull', async () => {
    const [once, twice] = await Promise.all([workflow('once', false), workflow('twice', true)]);
    // the workflow did what it says, so an equal result is no empty one
    expect(once).toMatchObject({
      squashed: 1,
      deleted: 1,
      sizeOfF3: '28\n',
      copiedInClone: 'deep\n',
      fsck: true,
      jobs: expect.arrayContaining([expect.objectContaining({ pipeline: 'sizes', state: 'JOB_SUCCESS', total: 5 }), expect.objectContaining({ pipeline: 'ticker', state: 'JOB_SUCCESS' })]),
    });
    expect(twice).toEqual(once);
  }, 180_000);
});

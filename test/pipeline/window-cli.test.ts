// Windowed inputs through the built binary: a spec with a window, commits with `--time`, the
// WINDOW column of `list datum`, and the errors. How windows are redone as commits come, go and
// arrive late is tested in-process, in window-jobs.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCliError, expectOk, type StoreDir, withStoreDir, writeTree } from '../cli/cli-helpers.js';
import { REPORT } from './window-helpers.js';

const step = (name: string, fn: () => Promise<void>) => it.sequential(name, fn, 60_000);
const FG = { env: { TUSK_RUNNER: 'foreground' } };

type Job = { id: string; state: string; processed: number; skipped: number };
type Datum = { id: string; state: string; files: { commit: string; path: string; window?: { by: string; start: number; end: number } }[] };

const at = (day: number, hour: number) => `2025-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

describe.concurrent('windows by commit time', () => {
  let s: StoreDir;
  const commits: Record<string, string> = {};
  beforeAll(async () => {
    s = await withStoreDir();
  });
  afterAll(() => s?.cleanup());

  /** One commit holding `file` at time `time`; the pipelines run in the foreground on finish. */
  async function commitAt(label: string, time: string, file: string) {
    writeTree(s.dir, { [`data/${file}`]: `${label}\n` });
    const c = await s.json<{ id: string }>(['start', 'commit', 'series@master', '--time', time], FG);
    expectOk(await s.tusk(['put', 'file', `series@${c.id}:/${file}`, '-f', `data/${file}`], FG));
    expectOk(await s.tusk(['finish', 'commit', `series@${c.id}`], FG));
    commits[label] = c.id;
  }

  step('create the repo and a windowed pipeline from YAML', async () => {
    expectOk(await s.tusk(['create', 'repo', 'series']));
    writeTree(s.dir, {
      'daily.yaml': ['pipeline: {name: daily}', 'input:', '  pfs: {repo: series, glob: "/*.csv", window: {size: 1d}}', 'transform:', '  cmd: [sh]', '  stdin:', ...REPORT.map((l) => `    - ${JSON.stringify(l)}`), ''].join('\n'),
    });
    expectOk(await s.tusk(['create', 'pipeline', '-f', 'daily.yaml'], FG));
    const [p] = await s.json<{ input: string }[]>(['list', 'pipeline', 'daily']);
    expect(p!.input).toBe('series:/*.csv (window 1d)');
  });

  step('commits with a time land in their windows; list datum shows each window with its bounds', async () => {
    await commitAt('d1', at(1, 10), 'd1.csv');
    await commitAt('d2', at(2, 10), 'd2.csv');
    const [job] = await s.json<Job[]>(['list', 'job', '-p', 'daily', '-n', '1']);
    expect([job!.state, job!.processed, job!.skipped]).toEqual(['JOB_SUCCESS', 1, 1]);
    expect((await s.tusk(['get', 'file', 'daily@master:/2025-03-02.txt'])).stdout).toBe(
      ['2025-03-02T00:00:00.000Z 2025-03-03T00:00:00.000Z', commits.d2, `${commits.d2}/d2.csv`, ''].join('\n'),
    );
    const datums = await s.json<Datum[]>(['list', 'datum', `daily@${job!.id}`]);
    expect(datums.map((d) => [d.state, d.files[0]!.window])).toEqual([
      ['skipped', { by: 'time', start: Date.parse(at(1, 0)), end: Date.parse(at(2, 0)) }],
      ['success', { by: 'time', start: Date.parse(at(2, 0)), end: Date.parse(at(3, 0)) }],
    ]);
    const table = expectOk(await s.tusk(['list', 'datum', `daily@${job!.id}`])).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+WINDOW\s+FILES\s+STATUS\s+TIME/);
    expect(table[2]).toContain('[2025-03-02T00:00:00.000Z, 2025-03-03T00:00:00.000Z)');
    expect(table[2]).toContain('series@master: 1 file in 1 commit');
    const details = expectOk(await s.tusk(['inspect', 'datum', `daily@${job!.id}`, datums[1]!.id])).stdout;
    expect(details).toMatch(/^Window:\s+\[2025-03-02T00:00:00\.000Z, 2025-03-03T00:00:00\.000Z\)$/m);
  });

  step('a commit time in the future or not RFC 3339 is refused, and nothing is written', async () => {
    const before = await s.json<unknown[]>(['list', 'commit', 'series@master']);
    await expectCliError(['start', 'commit', 'series@master', '--time', '2999-01-01T00:00:00Z'], { exit: 2, code: 'E_INVALID', mentions: ['commit time 2999-01-01T00:00:00.000Z'] }, { cwd: s.dir });
    await expectCliError(['start', 'commit', 'series@master', '--time', 'yesterday'], { exit: 2, code: 'E_INVALID', mentions: ['--time'] }, { cwd: s.dir });
    expect(await s.json<unknown[]>(['list', 'commit', 'series@master'])).toEqual(before);
  });

  step('a bad window is refused naming the field, and no pipeline is created', async () => {
    writeTree(s.dir, { 'bad.json': JSON.stringify({ pipeline: { name: 'bad' }, input: { pfs: { repo: 'series', glob: '/', window: { size: '1d', every: '2 commits' } } }, transform: { cmd: ['true'] } }) });
    await expectCliError(['create', 'pipeline', '-f', 'bad.json'], { exit: 2, code: 'E_INVALID', mentions: ['input.pfs.window.every'] }, { cwd: s.dir });
    expect((await s.json<{ name: string }[]>(['list', 'pipeline'])).map((p) => p.name)).toEqual(['daily']);
  });
});

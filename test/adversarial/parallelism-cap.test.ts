// parallelism_spec.constant. Reproduction: `parallelism_spec: {constant: 99999999999}` was
// accepted; the runner then died with `RangeError: Invalid array length`, every job of every
// pipeline stayed `created`, and every later `put file --wait` exited 1.
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { expectOk, withStoreDir, writeTree, type StoreDir } from '../cli/cli-helpers.js';

const FG = { env: { TUSK_RUNNER: 'foreground' } };
type Job = { pipeline: string; state: string; reason: string | null };

function pipeline(name: string, constant: unknown) {
  return JSON.stringify({
    pipeline: { name },
    input: { pfs: { repo: 'in', glob: '/*' } },
    parallelism_spec: { constant },
    transform: { cmd: ['sh'], stdin: ['cp -r /pfs/in/. /pfs/out/'] },
  });
}

async function newest(s: StoreDir, name: string): Promise<Job> {
  return (await s.json<Job[]>(['list', 'job', '-p', name, '-n', '1']))[0]!;
}

describe('parallelism_spec.constant', () => {
  it('create pipeline rejects more than 1024, naming the field; 1024 is accepted', async () => {
    await withStoreDir(async (s) => {
      expectOk(await s.tusk(['create', 'repo', 'in']));
      for (const constant of [99999999999, 1025]) {
        writeTree(s.dir, { 'p.json': pipeline('p', constant) });
        const r = await s.tusk(['create', 'pipeline', '-f', 'p.json', '--json'], FG);
        expect(r.code, r.describe()).toBe(2);
        const e = r.json<{ error: { code: string; message: string; hint: string } }>().error;
        expect(e.code).toBe('E_INVALID');
        expect(e.message).toBe(`malformed pipeline spec: parallelism_spec.constant: must be at most 1024, got ${constant}`);
        expect(e.hint).toMatch(/0 \(one per core\)/);
      }
      expect(await s.json<unknown[]>(['list', 'pipeline'])).toEqual([]);
      writeTree(s.dir, { 'p.json': pipeline('p', 1024) });
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'p.json'], FG));
      const r = await s.tusk(['run', '--parallelism', '5000'], FG);
      expect(r.code, r.describe()).toBe(2);
    });
  });

  it('a pipeline that cannot run fails its own job; the other pipelines run, and later writes work', async () => {
    await withStoreDir(async (s) => {
      expectOk(await s.tusk(['create', 'repo', 'in']));
      writeTree(s.dir, { 'bad.json': pipeline('bad', 1), 'good.json': pipeline('good', 1) });
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'bad.json'], FG));
      expectOk(await s.tusk(['create', 'pipeline', '-f', 'good.json'], FG));
      // a spec stored by an older tusk, which did not check the limit
      const db = new Database(path.join(s.dir, '.tusk', 'meta.db'));
      const row = db.prepare('SELECT spec FROM pipelines WHERE name = ?').get('bad') as { spec: string };
      const spec = JSON.parse(row.spec) as { parallelism: number };
      spec.parallelism = 99999999999;
      db.prepare('UPDATE pipelines SET spec = ? WHERE name = ?').run(JSON.stringify(spec), 'bad');
      db.close();

      for (const n of [1, 2]) {
        const put = await s.tusk(['put', 'file', `in@master:/f${n}`, '--wait'], { ...FG, input: `${n}\n` });
        expect(put.code, put.describe()).not.toBe(1);
        const bad = await newest(s, 'bad');
        expect(bad.state).toBe('JOB_FAILURE');
        expect(bad.reason).toBe('parallelism_spec.constant: must be at most 1024, got 99999999999');
        expect((await newest(s, 'good')).state).toBe('JOB_SUCCESS');
        expect(expectOk(await s.tusk(['get', 'file', `good@master:/f${n}`])).stdout).toBe(`${n}\n`);
      }
      // no job is left behind in `created`
      const jobs = await s.json<Job[]>(['list', 'job']);
      expect(jobs.filter((j) => j.state === 'JOB_CREATED' || j.state === 'JOB_RUNNING')).toEqual([]);
    });
  });
});

// `tusk init --packs`: a store whose packs live in an S3 bucket (s3rver on loopback) or a
// directory, recorded in the store so that every later command reaches them, through the built
// CLI. Bad URLs, an unreachable endpoint and a missing bucket leave no store behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObjectStore } from '../../src/remote/config.js';
import { closedPort, seededBytes, tempDirs } from '../helpers.js';
import { startS3, type S3Server } from '../remote/s3-server.js';
import { pipelineOnBucketStore } from './bucket-pipeline.js';
import { expectJsonError, expectOk, runTusk, treeDifferences, writeTree, type RunOptions } from './cli-helpers.js';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3?.close();
});

const mk = tempDirs('tusk-init-packs-');


describe('tusk init --packs', () => {
  it('keeps the packs in the bucket: put -r, a cold cache, get -r reads the same bytes back, fsck is clean', async () => {
    const dir = mk();
    const opts: RunOptions = { cwd: dir, env: s3.env };
    const s3Args = ['--packs', 's3://tusk/team/a', '--endpoint', s3.endpoint, '--path-style'];
    const init = expectOk(await runTusk(['init', ...s3Args, '--json'], opts)).json();
    expect(init).toEqual({ path: path.join(fs.realpathSync(dir), '.tusk'), created: true, packs: 's3://tusk/team/a' });
    const recorded = JSON.parse(fs.readFileSync(path.join(dir, '.tusk', 'packs.json'), 'utf8'));
    expect(recorded).toEqual({ url: 's3://tusk/team/a', endpoint: s3.endpoint, pathStyle: true });
    // the probe cleaned up after itself
    const bucket = openObjectStore({ url: 's3://tusk/team/a', endpoint: s3.endpoint, pathStyle: true });
    const keysOf = async (prefix: string) => {
      const saved = { ...process.env };
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY });
      delete process.env.AWS_CA_BUNDLE;
      try {
        return await bucket.list(prefix);
      } finally {
        process.env = saved;
      }
    };
    expect(await keysOf('')).toEqual([]);

    const src = path.join(dir, 'src');
    const files = { 'a.txt': 'alpha\n', 'sub/b.bin': seededBytes(200_000, 3), 'sub/deep/c.bin': seededBytes(3 << 20, 4), 'empty': '' };
    writeTree(src, files);
    expectOk(await runTusk(['create', 'repo', 'data', '--json'], opts));
    expectOk(await runTusk(['put', 'file', '-r', 'data@master:/', '-f', src, '--json'], opts));
    // nothing in the store's own packs/, everything in the bucket
    expect(fs.existsSync(path.join(dir, '.tusk', 'packs'))).toBe(false);
    const packs = await keysOf('packs/');
    expect(packs.length).toBeGreaterThan(0);
    expect(await keysOf('pack-sums/')).toEqual(packs.map((k) => k.replace(/^packs\//, 'pack-sums/')));

    const info = expectOk(await runTusk(['cache', 'info', '--json'], opts)).json();
    expect(info.packs.at).toBe('s3://tusk/team/a');
    expect(expectOk(await runTusk(['cache', 'info'], opts)).stdout).toContain('packs in s3://tusk/team/a');
    expectOk(await runTusk(['cache', 'clear', '--json'], opts));
    expect(expectOk(await runTusk(['cache', 'info', '--json'], opts)).json().packs.blocks).toBe(0);

    // from elsewhere, through TUSK_STORE: the store's record is what says where the packs are
    const out = path.join(mk(), 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'data@master:/', '-o', out, '--json'], { cwd: mk(), env: { ...s3.env, TUSK_STORE: dir } }));
    expect(treeDifferences(out, src)).toEqual([]);
    expect(expectOk(await runTusk(['cache', 'info', '--json'], opts)).json().packs.blocks).toBeGreaterThan(0);
    const fsck = expectOk(await runTusk(['fsck', '--verify-data', '--json'], opts)).json();
    expect(fsck.ok).toBe(true);
    expect(fsck.problems).toEqual([]);

    // again: nothing changes; another place for the packs is refused, naming both
    expect(expectOk(await runTusk(['init', ...s3Args, '--json'], opts)).json()).toEqual({ ...init, created: false });
    expect(expectOk(await runTusk(['init', '--json'], opts)).json()).toEqual({ ...init, created: false });
    await expectJsonError(['init', '--packs', 's3://tusk/team/b', '--endpoint', s3.endpoint, '--path-style'], { exit: 2, code: 'E_INVALID', mentions: ['s3://tusk/team/a', 's3://tusk/team/b'] }, opts);
    expect(JSON.parse(fs.readFileSync(path.join(dir, '.tusk', 'packs.json'), 'utf8'))).toEqual(recorded);
  });

  it('runs a pipeline: a /src/* job run by the background runner, its output commit right; a changed input reruns only its datum', async () => {
    const dir = mk();
    const env = { ...s3.env, XDG_CACHE_HOME: mk() };
    expectOk(await runTusk(['init', '--packs', 's3://tusk/pipeline', '--endpoint', s3.endpoint, '--path-style', '--json'], { cwd: dir, env }));
    await pipelineOnBucketStore({ cwd: dir, env }, mk());
    // nothing of the job's was written to packs on the local disk
    expect(fs.existsSync(path.join(dir, '.tusk', 'packs'))).toBe(false);
  }, 120_000);

  it('keeps the packs in a directory (file://), and a local store refuses --packs naming both', async () => {
    const dir = mk();
    const bucketDir = path.join(mk(), 'packs-here');
    const url = `file://${bucketDir}`;
    expect(expectOk(await runTusk(['init', '--packs', url, '--json'], { cwd: dir })).json()).toMatchObject({ created: true, packs: url });
    const src = path.join(dir, 'src');
    writeTree(src, { 'x.bin': seededBytes(1_500_000, 9), 'y.txt': 'why\n' });
    expectOk(await runTusk(['create', 'repo', 'r', '--json'], { cwd: dir }));
    expectOk(await runTusk(['put', 'file', '-r', 'r@master:/', '-f', src, '--json'], { cwd: dir }));
    expect(fs.readdirSync(path.join(bucketDir, 'packs')).length).toBeGreaterThan(0);
    expectOk(await runTusk(['cache', 'clear', '--json'], { cwd: dir }));
    const out = path.join(mk(), 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'r@master:/', '-o', out, '--json'], { cwd: dir }));
    expect(treeDifferences(out, src)).toEqual([]);

    const local = mk();
    expectOk(await runTusk(['init', '--json'], { cwd: local }));
    const err = await expectJsonError(['init', '--packs', url], { exit: 2, code: 'E_INVALID', mentions: [url, path.join(fs.realpathSync(local), '.tusk', 'packs')] }, { cwd: local });
    expect(err.hint).toContain('tusk init DIR --packs URL');
    expect(fs.existsSync(path.join(local, '.tusk', 'packs.json'))).toBe(false);
  });

  it('a bad URL, an unreachable endpoint or a missing bucket is an error naming it, and leaves no store', async () => {
    const port = await closedPort();
    const cases: { args: string[]; exit: number; code: string; mentions: string[]; env?: Record<string, string> }[] = [
      { args: ['--packs', 's3://No_Such_Bucket/x'], exit: 2, code: 'E_INVALID', mentions: ['s3://No_Such_Bucket/x'] },
      { args: ['--packs', 'http://example.com/x'], exit: 2, code: 'E_INVALID', mentions: ['http://example.com/x'] },
      { args: ['--packs', 'file:///x', '--endpoint', s3.endpoint], exit: 2, code: 'E_INVALID', mentions: ['file:///x'] },
      { args: ['--endpoint', s3.endpoint], exit: 2, code: 'E_INVALID', mentions: ['--packs'] },
      { args: ['--packs', 's3://tusk/x', '--endpoint', `http://127.0.0.1:${port}`, '--path-style'], exit: 1, code: 'E_IO', mentions: ['s3://tusk/x', `127.0.0.1:${port}`] },
      { args: ['--packs', 's3://missing-bucket/x', '--endpoint', s3.endpoint, '--path-style'], exit: 4, code: 'E_NOT_FOUND', mentions: ['missing-bucket'] },
      // the server refuses these credentials: nothing may be written
      { args: ['--packs', 's3://tusk/x', '--endpoint', s3.endpoint, '--path-style'], exit: 2, code: 'E_INVALID', mentions: ['s3://tusk/x', 'refused'], env: { AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' } },
    ];
    for (const c of cases) {
      const dir = mk();
      const err = await expectJsonError(['init', ...c.args], c, { cwd: dir, env: { ...s3.env, ...c.env } });
      expect(err.hint, c.args.join(' ')).toBeTruthy();
      expect(fs.readdirSync(dir), c.args.join(' ')).toEqual([]);
    }
  });

  it('a store whose record of its packs is damaged is refused as corrupt, not opened on an empty packs/', async () => {
    const dir = mk();
    expectOk(await runTusk(['init', '--packs', `file://${path.join(dir, 'objects')}`, '--json'], { cwd: dir }));
    fs.writeFileSync(path.join(dir, '.tusk', 'packs.json'), '{"nope": 1}\n');
    await expectJsonError(['list', 'repo'], { exit: 5, code: 'E_CORRUPT', mentions: ['packs.json'] }, { cwd: dir });
  });
});

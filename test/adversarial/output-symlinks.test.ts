// Symbolic links a transform leaves in /pfs/out. Pachyderm's rule: a link that resolves inside the
// datum's /pfs inputs becomes an output file with the target's content, stored by reference (the
// input's content id, no bytes uploaded), also under `empty_files: true`; a link resolving anywhere
// else (a host file, a host directory) or nowhere is not uploaded, and the job's logs and `inspect
// datum` say so. Run as this user and, when root, as nobody: the host files a link may point at
// are readable by either.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { expectOk, runTusk, type RunOptions, unprivilegedRunner, writeTree } from '../cli/cli-helpers.js';

type FileInfo = { path: string; hash: string; sizeBytes: number };
type Datum = { id: string; state: string; error: string | null; warning: string | null; uploadBytes: number; files: { path: string }[] };
type Job = { id: string; state: string };

const nobody = unprivilegedRunner();
const users: { label: string; asUser: number | undefined }[] = [{ label: 'this user', asUser: undefined }];
if (nobody.ok && nobody.asUser !== undefined) users.push({ label: 'nobody', asUser: nobody.asUser });

// Every kind of link, once per input file; SECRET is a host directory the pipeline was not given.
const LINKS = [
  'for f in /pfs/src/*; do',
  '  n=$(basename "$f")',
  '  ln -s "$f" "/pfs/out/$n"',
  '  ln -s "../src/$n" "/pfs/out/rel-$n"',
  '  ln -s /pfs/src "/pfs/out/dir-$n"',
  '  ln -s /etc/passwd "/pfs/out/host-$n"',
  '  ln -s "$SECRET" "/pfs/out/secret-$n"',
  '  ln -s /pfs/src/no-such-file "/pfs/out/dangling-$n"',
  'done',
];

describe.concurrent.each(users)('links in /pfs/out, as $label', ({ asUser }) => {
  it('keeps links into the inputs by reference and uploads nothing from elsewhere', async () => {
    const dir = tempDir('tusk-links-');
    fs.chmodSync(dir, 0o777);
    const secret = path.join(dir, 'secret');
    writeTree(secret, { 'key.txt': 'do not upload\n' });
    fs.chmodSync(secret, 0o755);
    fs.chmodSync(path.join(secret, 'key.txt'), 0o644);
    const spec = (name: string, emptyFiles: boolean) =>
      JSON.stringify({
        pipeline: { name },
        input: { pfs: { repo: 'src', glob: '/*', ...(emptyFiles ? { empty_files: true } : {}) } },
        transform: { cmd: ['sh'], stdin: LINKS, env: { SECRET: secret } },
      });
    writeTree(dir, { 'pass.json': spec('pass', false), 'empty.json': spec('passempty', true), 'a.txt': 'alpha\n', 'b.txt': 'bravo bravo\n' });
    const opts: RunOptions = { cwd: dir, asUser, env: { TUSK_RUNNER: 'foreground' } };
    const tusk = async (...args: string[]) => expectOk(await runTusk(args, opts));
    const json = async <T>(...args: string[]) => (await tusk(...args, '--json')).json<T>();

    await tusk('init');
    await tusk('create', 'repo', 'src');
    await tusk('put', 'file', 'src@master', '-f', 'a.txt', '-f', 'b.txt');
    await tusk('create', 'pipeline', '-f', 'pass.json', '--wait');
    await tusk('create', 'pipeline', '-f', 'empty.json', '--wait');
    const inputs = new Map((await json<FileInfo[]>('list', 'file', 'src@master')).map((f) => [f.path, f]));

    for (const pipeline of ['pass', 'passempty']) {
      const [job] = await json<Job[]>('list', 'job', '-p', pipeline, '-n', '1');
      expect(job!.state, pipeline).toBe('JOB_SUCCESS');
      const out = await json<FileInfo[]>('list', 'file', `${pipeline}@master`);
      expect(out.map((f) => f.path).sort(), pipeline).toEqual(['/a.txt', '/b.txt', '/dir-a.txt', '/dir-b.txt', '/rel-a.txt', '/rel-b.txt']);
      // a link to an input directory holds the datum's files of that input, by reference too
      const inDir = await json<FileInfo[]>('list', 'file', `${pipeline}@master:/dir-b.txt`);
      expect(inDir.map((f) => [f.path, f.hash])).toEqual([['/dir-b.txt/b.txt', inputs.get('/b.txt')!.hash]]);
      for (const f of out.filter((o) => !o.path.startsWith('/dir-'))) {
        const input = inputs.get(f.path.replace('/rel-', '/'))!;
        // the input's own content id: stored by reference, never the empty file it was laid out as
        expect([f.path, f.hash, f.sizeBytes]).toEqual([f.path, input.hash, input.sizeBytes]);
      }
      expect((await tusk('get', 'file', `${pipeline}@master:/a.txt`)).stdout).toBe('alpha\n');

      const datums = await json<Datum[]>('list', 'datum', `${pipeline}@${job!.id}`);
      expect(datums).toHaveLength(2);
      for (const d of datums) {
        expect([d.state, d.uploadBytes, d.error]).toEqual(['success', 0, null]);
        const n = path.posix.basename(d.files[0]!.path);
        expect(d.warning).toContain(`/pfs/out/host-${n} → /etc/passwd`);
        expect(d.warning).toContain(`/pfs/out/secret-${n} → ${secret}`);
        expect(d.warning).toContain(`/pfs/out/dangling-${n}`);
      }
      const shown = await json<Datum>('inspect', 'datum', `${pipeline}@${job!.id}`, datums[0]!.id);
      expect(shown.warning).toBe(datums[0]!.warning);
      const text = (await tusk('inspect', 'datum', `${pipeline}@${job!.id}`, datums[0]!.id)).stdout;
      expect(text).toMatch(/^Warning: 3 symbolic links not uploaded: /m);
      const logs = (await tusk('logs', '-j', `${pipeline}@${job!.id}`, '--system')).stdout;
      expect(logs).toContain('symbolic link /pfs/out/host-a.txt → /etc/passwd points outside the datum\'s inputs: not uploaded');
      expect(logs).toContain('dangling symbolic link /pfs/out/dangling-b.txt → /pfs/src/no-such-file: not uploaded');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

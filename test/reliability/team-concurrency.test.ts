// Concurrency on a team store: 8 writer processes × 50 commits to one branch, each opening the
// store as the CLI does (TUSK_STORE naming its PostgreSQL database, packs in s3rver). Every
// acknowledged commit must be in the branch's one history afterwards, with the bytes it put, and
// fsck must be clean. The units that collide are retried by the database layer, never lost.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/store/hash.js';
import { REPO_ROOT, expectOk, runTusk } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { usePostgres } from '../helpers/postgres.js';
import { startS3, type S3Server } from '../remote/s3-server.js';
import { contentFor, pathFor } from './fixtures/content.mjs';
import { scaled } from './rel-helpers.js';

const WRITERS = 8;
const COMMITS = scaled(8, 50);

const server = usePostgres();
const skip = server.missing !== undefined;
let s3: S3Server;
let work: string;
beforeAll(async () => {
  work = tempDir('tusk-team-conc-');
  if (!skip) s3 = await startS3(['tusk']);
});
afterAll(async () => {
  await s3?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

interface Proc {
  code: number;
  lines: { k?: number; commit?: string; error?: { code: string; message: string } }[];
  stderr: string;
}

function writer(env: Record<string, string | undefined>, cfg: object): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'test', 'reliability', 'fixtures', 'team-writer.mjs'), JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: err }));
  });
}

describe.skipIf(skip)(`a team store under ${WRITERS} writer processes × ${COMMITS} commits${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('to one branch: every acknowledged commit is in its history, with its bytes; fsck is clean', async () => {
    const url = await server.freshDatabase();
    // the env every process gets; TUSK_RUNNER=none: no pipeline, no background runner to start
    const env = { ...s3.env, TUSK_STORE: url, XDG_CACHE_HOME: path.join(work, 'cache'), TUSK_RUNNER: 'none' };
    expectOk(await runTusk(['init', '--packs', 's3://tusk/conc', '--endpoint', s3.endpoint, '--path-style', '--json'], { cwd: work, env }));
    expectOk(await runTusk(['create', 'repo', 'same', '--json'], { cwd: work, env }));

    const ps = await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(env, { repo: 'same', branch: 'master', writer: w, commits: COMMITS })));
    for (const [w, p] of ps.entries()) {
      expect(p.lines.find((l) => l.error)?.error ?? null, `writer ${w}: ${p.stderr}`).toBeNull();
      expect(p.code, `writer ${w}: ${p.stderr}`).toBe(0);
      expect(p.lines.length, `writer ${w}`).toBe(COMMITS);
    }
    const acknowledged = ps.flatMap((p) => p.lines.map((l) => l.commit!));
    expect(new Set(acknowledged).size).toBe(WRITERS * COMMITS);

    // one history holds them all, and nothing else but the repo's first commit, if any
    const history = expectOk(await runTusk(['list', 'commit', 'same@master', '--json'], { cwd: work, env, timeoutMs: 60_000 })).json() as { id: string }[];
    const ids = new Set(history.map((c) => c.id));
    for (const id of acknowledged) expect(ids.has(id), `commit ${id} is in same@master's history`).toBe(true);
    expect(history.length).toBe(WRITERS * COMMITS);

    // the head holds every file each writer put, with its bytes
    const files = expectOk(await runTusk(['list', 'file', 'same@master:/**', '--json'], { cwd: work, env })).json() as unknown[];
    expect(files.length).toBeGreaterThanOrEqual(WRITERS * COMMITS);
    const out = path.join(work, 'out');
    expectOk(await runTusk(['get', 'file', '-r', 'same@master:/', '-o', out, '--json'], { cwd: work, env, timeoutMs: 60_000 }));
    for (let w = 0; w < WRITERS; w++)
      for (let k = 0; k < COMMITS; k++) expect(hashBytes(fs.readFileSync(path.join(out, pathFor(w, k)))).equals(hashBytes(contentFor(w, k))), pathFor(w, k)).toBe(true);
    const fsck = expectOk(await runTusk(['fsck', '--json'], { cwd: work, env, timeoutMs: 60_000 })).json();
    expect(fsck.problems).toEqual([]);
  }, 300_000);
});

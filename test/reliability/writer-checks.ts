// What the concurrency tests (concurrency.test.ts on a local store, team-concurrency.test.ts on a
// team store) check after their writer processes ran: no writer saw an error, each branch is one
// chain of finished commits each adding one file, every reported commit and every file is there
// with its bytes, fsck --verify-data is clean. The store is opened through `open`, so the same
// checks run on either kind of store.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { collectBatches, walkFiles } from '../../src/store/file-tree.js';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import type { Store } from '../../src/store/store.js';
import { REPO_ROOT } from '../cli/cli-helpers.js';
import { readBack } from '../helpers.js';
import { contentFor, pathFor } from './fixtures/content.mjs';
import { STRESS } from './rel-helpers.js';

export const FIXTURES = path.join(REPO_ROOT, 'test', 'reliability', 'fixtures');

/** Opens the store under test for `fn`, and closes it afterwards. */
export type OpenStore = <T>(fn: (s: Store) => Promise<T>) => Promise<T>;

/** A fixture process that ran: its exit status, its JSON lines, its stderr, how long it took. */
export interface Proc {
  code: number;
  lines: any[];
  stderr: string;
  ms: number;
}

/** Run `node test/reliability/fixtures/SCRIPT ARGS` with `env` added to this environment. */
export function node(script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Proc> {
  const t = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? 1, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: err, ms: Date.now() - t }),
    );
  });
}

/** Wait until `n` files named `<prefix>.ready-*` exist (fixture processes up and running). */
export async function ready(prefix: string, n: number): Promise<void> {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  for (let i = 0; i < 1200; i++) {
    if (fs.readdirSync(dir).filter((f) => f.startsWith(`${base}.ready-`)).length >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fixture processes for ${prefix} did not start`);
}

/** No writer reported an error or exited with one. */
export function expectClean(ps: Proc[]): void {
  for (const [w, p] of ps.entries()) {
    const err = p.lines.find((l) => l.error);
    expect(err?.error ?? null, `writer ${w}: ${p.stderr}`).toBeNull();
    expect(p.code, `writer ${w}: ${p.stderr}`).toBe(0);
  }
}

/** The chain of commits from a branch head to its root, newest first, with each one's files. */
export async function chain(open: OpenStore, repo: string, branch: string): Promise<{ id: string; finished: boolean; files: Map<string, string> }[]> {
  return open(async (s) => {
    const g = s.core.graph;
    const out: { id: string; finished: boolean; files: Map<string, string> }[] = [];
    for (let c = await g.getCommit(repo, (await g.getBranch(repo, branch))!.head); c; c = c.parent ? await g.getCommit(repo, c.parent) : undefined) {
      const files = new Map<string, string>();
      for (const f of await collectBatches(walkFiles(s.core.reader, c.root as NodeId, '/'))) if (f.entry.kind === 'file') files.set(f.path, f.entry.id.toString('hex'));
      out.push({ id: c.id, finished: c.finished !== null, files });
    }
    return out;
  });
}

/**
 * A branch written by `who` (writer numbers) with `commits` each: every reported commit present and
 * finished, one chain in which each commit adds exactly one file to its parent's, and the head
 * holding every file with the right content id.
 */
export async function expectChain(open: OpenStore, repo: string, branch: string, ps: Proc[], who: number[], commits: number): Promise<void> {
  const c = await chain(open, repo, branch);
  expect(c.length, `${repo}@${branch} history`).toBe(who.length * commits);
  const reported = new Set(ps.flatMap((p) => p.lines.filter((l) => l.commit).map((l) => l.commit as string)));
  expect(reported.size, `${repo}@${branch}: commits reported by its writers`).toBe(who.length * commits);
  const ids = new Set(c.map((x) => x.id));
  for (const id of reported) expect(ids.has(id), `${repo}@${branch}: acknowledged commit ${id} is in the history`).toBe(true);
  for (let i = 0; i < c.length; i++) {
    expect(c[i]!.finished).toBe(true);
    expect(c[i]!.files.size, `${repo}@${branch}: commit #${c.length - i} holds one file more than its parent`).toBe(c.length - i);
    if (i + 1 < c.length) for (const [p, id] of c[i + 1]!.files) expect(c[i]!.files.get(p), `${p} carried into the child`).toBe(id);
  }
  const head = c[0]!.files;
  for (const w of who) for (let k = 0; k < commits; k++) expect(head.get(pathFor(w, k)), `${repo}@${branch}:${pathFor(w, k)}`).toBe(hashBytes(contentFor(w, k)).toString('hex'));
}

/** fsck --verify-data is clean, and the heads' files read back with their bytes (a sample in npm test, all under stress). */
export async function expectFsckAndBytes(open: OpenStore, repoFiles: { repo: string; branch: string; who: number[]; commits: number }[]): Promise<void> {
  await open(async (s) => {
    expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
    for (const r of repoFiles)
      for (const w of r.who)
        for (let k = 0; k < r.commits; k += STRESS ? 1 : 3) expect((await readBack(s, { repo: r.repo, branch: r.branch, path: pathFor(w, k) })).equals(contentFor(w, k))).toBe(true);
  });
}

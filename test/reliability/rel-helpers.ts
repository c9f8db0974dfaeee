// Shared by the reliability tests (crash, corruption, concurrency, limits): sample sizes, store
// copies, an id-free picture of what a store holds, byte-level verification against the sources,
// and where the measured figures go.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { collectBatches, walkFiles } from '../../src/store/file-tree.js';
import { hashBytes, type NodeId } from '../../src/store/hash.js';
import { openStore, type LocalStore, type Store } from '../../src/store/store.js';
import { REPO_ROOT } from '../cli/cli-helpers.js';
import { readBack } from '../helpers.js';

/** `npm run test:stress` sets TUSK_STRESS=1: the full runs. `npm test` runs a bounded sample. */
export const STRESS = process.env.TUSK_STRESS === '1';

/** `sample` in `npm test`, `full` under TUSK_STRESS=1; TUSK_REL_SCALE multiplies either (for local runs). */
export function scaled(sample: number, full: number): number {
  const n = STRESS ? full : sample;
  const f = Number(process.env.TUSK_REL_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(f) && f > 0 ? f : 1)));
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A file's content id as tusk defines it (BLAKE3 of the whole file), hex. */
export const contentId = (b: Uint8Array) => hashBytes(b).toString('hex');

/** Copy a whole store directory (the `.tusk` folder and what sits beside it). */
export function cloneDir(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

/** Bytes a store occupies: metadata (db + WAL) and packs; the shm index is excluded (fixed 32 KiB). */
export function storeBytes(tuskDir: string): { total: number; packs: number; db: number } {
  let packs = 0;
  let db = 0;
  for (const suffix of ['', '-wal']) {
    try {
      db += fs.statSync(path.join(tuskDir, `meta.db${suffix}`)).size;
    } catch {
      // no WAL
    }
  }
  const root = path.join(tuskDir, 'packs');
  for (const sub of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    for (const f of fs.readdirSync(path.join(root, sub))) packs += fs.statSync(path.join(root, sub, f)).size;
  }
  return { total: packs + db, packs, db };
}

export interface FileOccurrence {
  repo: string;
  commit: string;
  path: string;
  size: number;
}

/**
 * What a store holds, without commit ids (they are random): per repo and branch, the chain of
 * commits from the head back to the root, each as origin, finished?, and its files (path → content
 * id, size). Two stores that hold the same history compare equal. Also returns one place each
 * distinct content can be read from, and checks every branch head exists.
 */
export async function logicalState(store: Store): Promise<{ state: Record<string, unknown>; contents: Map<string, FileOccurrence> }> {
  const g = store.core.graph;
  const state: Record<string, unknown> = {};
  const contents = new Map<string, FileOccurrence>();
  for (const repo of (await g.listRepos()).map((r) => r.name).sort()) {
    const branches: Record<string, unknown[]> = {};
    for (const b of (await g.listBranches(repo)).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const chain: unknown[] = [];
      for (let c = await g.getCommit(repo, b.head); c; c = c.parent ? (await g.getCommit(repo, c.parent)) : undefined) {
        const files: Record<string, string> = {};
        if (c.root) {
          for (const f of await collectBatches(walkFiles(store.core.reader, c.root as NodeId, '/'))) {
            if (f.entry.kind !== 'file') continue;
            const id = f.entry.id.toString('hex');
            files[f.path] = `${id.slice(0, 16)}:${f.entry.size}`;
            if (!contents.has(id)) contents.set(id, { repo, commit: c.id, path: f.path, size: f.entry.size });
          }
        }
        chain.push({ origin: c.origin, finished: c.finished !== null, files });
      }
      expect(chain.length, `branch ${repo}@${b.name} points at ${b.head}, which must exist`).toBeGreaterThan(0);
      branches[b.name] = chain;
    }
    state[repo] = branches;
  }
  return { state, contents };
}

/**
 * Read every distinct content the store's commits refer to through `get file` (verified reads)
 * and compare its bytes with the sources: `sources` maps content id → sha256 of the bytes put.
 * Returns how many contents and bytes were checked.
 */
export async function verifyContents(store: Store, contents: Map<string, FileOccurrence>, sources: Map<string, string>): Promise<{ files: number; bytes: number }> {
  let bytes = 0;
  for (const [id, occ] of contents) {
    const want = sources.get(id);
    expect(want, `${occ.repo}@${occ.commit}:${occ.path} holds content ${id.slice(0, 16)}, which was never put`).toBeDefined();
    const got = await readBack(store, { repo: occ.repo, commit: occ.commit, path: occ.path });
    expect(got.length, `${occ.repo}@${occ.commit}:${occ.path} size`).toBe(occ.size);
    expect(sha256(got), `${occ.repo}@${occ.commit}:${occ.path} bytes`).toBe(want);
    bytes += got.length;
  }
  return { files: contents.size, bytes };
}

/** Remember a local file's content id and sha256, for verifyContents. */
export function addSource(sources: Map<string, string>, bytes: Buffer): void {
  sources.set(contentId(bytes), sha256(bytes));
}

/** Open a store directory's `.tusk` in this process. */
export function open(dir: string, opts: { readonly?: boolean } = {}): LocalStore {
  return openStore({ path: path.join(dir, '.tusk'), readonly: opts.readonly });
}

export function withStore<T>(dir: string, fn: (s: LocalStore) => T, opts: { readonly?: boolean } = {}): T {
  const s = open(dir, opts);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

export async function withStoreAsync<T>(dir: string, fn: (s: LocalStore) => Promise<T>, opts: { readonly?: boolean } = {}): Promise<T> {
  const s = open(dir, opts);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** Where measured figures are written (one JSON file per test file), and echoed to the log. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const dir = path.join(REPO_ROOT, 'test-artifacts', 'reliability');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}${STRESS ? '.stress' : ''}.json`);
  let prev: Record<string, unknown> = {};
  try {
    prev = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    // first figures of this run
  }
  fs.writeFileSync(file, JSON.stringify({ ...prev, ...figures, mode: STRESS ? 'stress' : 'sample', at: new Date().toISOString() }, null, 2) + '\n');
  console.log(`[reliability] ${name}: ${JSON.stringify(figures)}`);
}

/** Deterministic text-like bytes (compressible), for zstd paths. */
export function textBytes(n: number, seed: number): Buffer {
  const words = ['tusk', 'pack', 'chunk', 'commit', 'branch', 'repo', 'fsck', 'gc', 'datum', 'the', 'of', 'a', 'and', 'zstd', 'blake3'];
  const out: string[] = [];
  let x = seed >>> 0 || 7;
  let len = 0;
  while (len < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const w = words[(x >>> 16) % words.length]!;
    out.push(w);
    len += w.length + 1;
  }
  return Buffer.from(out.join(' ')).subarray(0, n);
}

// Models stored in repos, for commands: fetch a fitted chain at REPO@REF[:/path] into a temp
// directory (verified reads through the store façade) and load it. A model version is a commit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { NotFoundError, TuskError } from '../errors.js';
import type { CommitInfo, FileRef, RepoReads } from '../pipeline/repo-reads.js';
import { findChainDir, loadChain, CHAIN_FILE, type FittedChain } from './chain.js';
import { MlError } from './errors.js';
import type { BackendName } from './tf.js';

export interface ModelVersion {
  repo: string;
  branch: string | null;
  commit: string;
  /** the directory in the repo holding chain.json */
  path: string;
  /** newer commits on the way that a failed job wrote, passed over for this one (newest first) */
  skipped?: { commit: string; error: string }[];
}

export interface LoadedModel {
  version: ModelVersion;
  chain: FittedChain;
  /** removes the fetched files and frees the model's memory */
  close(): void;
}

/** Read one file of a commit into memory. */
export async function readRepoFile(store: RepoReads, ref: FileRef): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  await store.getFile(ref, { stdout: sink });
  return Buffer.concat(parts);
}

async function exists(store: RepoReads, ref: FileRef): Promise<boolean> {
  try {
    await store.inspectFile(ref);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/**
 * The newest commit at or before the one `ref` names that no failed job wrote. A failed job's
 * output commit is not a model version: what it holds is whatever the job left, never a model the
 * job vouches for. A ref by branch or ancestry passes over such commits (and says so in
 * `skipped`); a ref naming the failed commit's id is refused.
 */
async function goodModelCommit(store: RepoReads, ref: FileRef): Promise<{ commit: CommitInfo; skipped: { commit: string; error: string }[] }> {
  let c = await store.inspectCommit(ref);
  const skipped: { commit: string; error: string }[] = [];
  const byId = ref.commit !== undefined && !ref.branch && !ref.ancestry;
  while (c.error) {
    skipped.push({ commit: c.id, error: c.error });
    const parent = c.parent ? await store.inspectCommit({ repo: c.repo, commit: c.parent }) : undefined;
    const good = parent && !parent.error ? parent : undefined;
    if (byId || !parent)
      throw new MlError(
        `${c.repo}@${c.id} is the output of a failed job (${c.error}), not a model version`,
        good ? `use the version before it: ${c.repo}@${good.id}` : `give a version a successful job wrote (tusk list commit ${c.repo})`,
      );
    c = parent;
  }
  return { commit: c, skipped };
}

/** The commit a ref names (or the newest good one before it) and the directory of its chain.json (given, else /model, else /). */
export async function resolveModel(store: RepoReads, ref: FileRef): Promise<ModelVersion> {
  const { commit: c, skipped } = await goodModelCommit(store, ref);
  const at: FileRef = { repo: c.repo, commit: c.id };
  const given = ref.path && ref.path !== '/' ? ref.path.replace(/\/chain\.json$/, '') : undefined;
  const candidates = given ? [given] : ['/model', '/'];
  for (const p of candidates)
    if (await exists(store, { ...at, path: `${p === '/' ? '' : p}/${CHAIN_FILE}` })) return { repo: c.repo, branch: ref.branch ?? c.branch, commit: c.id, path: p, ...(skipped.length > 0 ? { skipped } : {}) };
  throw new MlError(
    `no fitted model in ${c.repo}@${c.id}: ${candidates.map((p) => `${p === '/' ? '' : p}/${CHAIN_FILE}`).join(' and ')} not found`,
    'give the output repo of a train pipeline, e.g. price-model@master (or REPO@REF:/dir holding chain.json)',
  );
}

/** Fetch and load the model a ref names. */
export async function loadModel(store: RepoReads, ref: FileRef, backend?: BackendName): Promise<LoadedModel> {
  const version = await resolveModel(store, ref);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-model-'));
  try {
    await store.getFile({ repo: version.repo, commit: version.commit, path: version.path }, { output: tmp, recursive: true });
    const chain = await loadChain(findChainDir(tmp), backend);
    return {
      version,
      chain,
      close: () => {
        chain.estimator.dispose?.();
        fs.rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (err instanceof TuskError) throw err;
    throw new MlError(`cannot load the model in ${version.repo}@${version.commit}: ${(err as Error).message}`);
  }
}

/** One line saying which failed versions were passed over for `v`, or undefined. */
export function skippedNote(v: ModelVersion): string | undefined {
  if (!v.skipped?.length) return undefined;
  const newest = v.skipped[0]!;
  const more = v.skipped.length > 1 ? ` and ${v.skipped.length - 1} older failed version${v.skipped.length > 2 ? 's' : ''}` : '';
  return `${v.repo}@${newest.commit} is the output of a failed job (${newest.error})${more}; using ${v.repo}@${v.commit}, the newest version a successful job wrote`;
}

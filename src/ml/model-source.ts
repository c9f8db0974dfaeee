// Models stored in repos, for commands: fetch a fitted chain at REPO@REF[:/path] into a temp
// directory (verified reads through the store façade) and load it. A model version is a commit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { NotFoundError, TuskError } from '../errors.js';
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';
import { findChainDir, loadChain, CHAIN_FILE, type FittedChain } from './chain.js';
import { MlError } from './errors.js';
import type { BackendName } from './tf.js';

export interface ModelVersion {
  repo: string;
  branch: string | null;
  commit: string;
  /** the directory in the repo holding chain.json */
  path: string;
}

export interface LoadedModel {
  version: ModelVersion;
  chain: FittedChain;
  /** removes the fetched files and frees the model's memory */
  close(): void;
}

/** Read one file of a commit into memory. */
export async function readRepoFile(store: Store, ref: FileRef): Promise<Buffer> {
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

function exists(store: Store, ref: FileRef): boolean {
  try {
    store.inspectFile(ref);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** The commit a ref names and the directory of its chain.json (given, else /model, else /). */
export function resolveModel(store: Store, ref: FileRef): ModelVersion {
  const c = store.inspectCommit(ref);
  const at: FileRef = { repo: c.repo, commit: c.id };
  const given = ref.path && ref.path !== '/' ? ref.path.replace(/\/chain\.json$/, '') : undefined;
  const candidates = given ? [given] : ['/model', '/'];
  for (const p of candidates) if (exists(store, { ...at, path: `${p === '/' ? '' : p}/${CHAIN_FILE}` })) return { repo: c.repo, branch: ref.branch ?? c.branch, commit: c.id, path: p };
  throw new MlError(
    `no fitted model in ${c.repo}@${c.id}: ${candidates.map((p) => `${p === '/' ? '' : p}/${CHAIN_FILE}`).join(' and ')} not found`,
    'give the output repo of a train pipeline, e.g. price-model@master (or REPO@REF:/dir holding chain.json)',
  );
}

/** Fetch and load the model a ref names. */
export async function loadModel(store: Store, ref: FileRef, backend?: BackendName): Promise<LoadedModel> {
  const version = resolveModel(store, ref);
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

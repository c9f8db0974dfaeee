// `tusk drift`: read two versions of a CSV file from the store and compare them column by column.
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { compareColumns, DRIFT_DEFAULTS, poolColumns, readColumns, type DriftOptions, type DriftVerdict } from './drift.js';

/** The most versions a reference window may pool. */
export const MAX_WINDOW = 100;

/** Commits a window walks back through at most, looking for older versions. */
const MAX_WALK = 10000;

export interface DriftSide {
  repo: string;
  commit: string;
  path: string;
  /** content id (BLAKE3, hex) */
  content: string;
  rows: number;
  /** a pooled reference (`window` > 1): each version in it, newest first */
  window?: { commit: string; content: string; rows: number }[];
}

export interface DriftReport extends DriftVerdict {
  reference: DriftSide;
  current: DriftSide;
  options: DriftOptions;
}

/**
 * Compare the file at `current` (same path as `reference` when it names none) with `reference`;
 * with `window` > 1 the reference pools that many versions of the file: `reference` and the
 * first-parent ancestors where the file differs (fewer when the history is shorter; commits
 * without the file, or with the version already pooled, are passed over).
 */
export async function driftFiles(store: Store, reference: FileRef, current: FileRef, opts: Partial<DriftOptions> & { window?: number; delimiter?: string } = {}): Promise<DriftReport> {
  const options: DriftOptions = { ...DRIFT_DEFAULTS, ...opts };
  delete (options as { window?: number }).window;
  delete (options as { delimiter?: string }).delimiter;
  const window = opts.window ?? 1;
  if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) throw new InvalidArgumentError(`window ${window} is not a whole number from 1 to ${MAX_WINDOW}`, 'e.g. --window 4 pools the reference commit and its 3 parents');
  const read = async (ref: FileRef, maxValues: number) => {
    const file = await store.streamFile(ref);
    const cols = await readColumns(file.chunks(), `${file.info.path} in ${file.info.repo}@${file.info.commit}`, maxValues, opts.delimiter ?? ',');
    return { side: { repo: file.info.repo, commit: file.info.commit, path: file.info.path, content: file.info.hash, rows: cols.rows }, cols };
  };
  const refs = window === 1 ? [reference] : await windowOf(store, reference, window);
  // the pool shares one file's value budget, so a window costs no more memory than one version
  const versions = [];
  for (const r of refs) versions.push(await read(r, Math.max(1000, Math.floor(options.maxValues / refs.length))));
  const first = versions[0]!;
  const refSide: DriftSide = { ...first.side, rows: versions.reduce((n, v) => n + v.side.rows, 0) };
  if (window > 1) refSide.window = versions.map((v) => ({ commit: v.side.commit, content: v.side.content, rows: v.side.rows }));
  const c = await read({ ...current, path: current.path ?? reference.path }, options.maxValues);
  return { reference: refSide, current: c.side, options, ...compareColumns(poolColumns(versions.map((v) => v.cols)), c.cols, options) };
}

/** `ref` and the first-parent ancestors where the file has another version, up to `size` versions. */
async function windowOf(store: Store, ref: FileRef, size: number): Promise<FileRef[]> {
  const out: FileRef[] = [];
  let last: string | undefined;
  let commit: string | null = (await store.inspectCommit(ref)).id;
  // the reference itself must hold the file (a directory or nothing there is an error naming it)
  await store.streamFile({ repo: ref.repo, commit, path: ref.path });
  for (let walked = 0; commit && walked < MAX_WALK; walked++) {
    const at: FileRef = { repo: ref.repo, commit, path: ref.path };
    try {
      const f = await store.inspectFile(at);
      // a commit that left the file as it was holds the same version, not another one: the
      // window names the commit that brought each older version in (the reference stays itself)
      if (f.type === 'file' && f.hash === last) {
        if (out.length > 1) out[out.length - 1] = at;
      } else if (f.type === 'file') {
        if (out.length === size) break;
        out.push(at);
        last = f.hash;
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    commit = (await store.inspectCommit({ repo: ref.repo, commit })).parent;
  }
  return out;
}

// `tusk drift`: read two versions of a CSV file from the store and compare them column by column.
import type { FileRef } from '../store/address.js';
import type { Store } from '../store/store.js';
import { compareColumns, DRIFT_DEFAULTS, readColumns, type DriftOptions, type DriftVerdict } from './drift.js';

export interface DriftSide {
  repo: string;
  commit: string;
  path: string;
  /** content id (BLAKE3, hex) */
  content: string;
  rows: number;
}

export interface DriftReport extends DriftVerdict {
  reference: DriftSide;
  current: DriftSide;
  options: DriftOptions;
}

/** Compare the file at `current` (same path as `reference` when it names none) with `reference`. */
export function driftFiles(store: Store, reference: FileRef, current: FileRef, opts: Partial<DriftOptions> = {}): DriftReport {
  const options = { ...DRIFT_DEFAULTS, ...opts };
  const read = (ref: FileRef) => {
    const file = store.streamFile(ref);
    const cols = readColumns(file.chunks(), `${file.info.path} in ${file.info.repo}@${file.info.commit}`, options.maxValues);
    return { side: { repo: file.info.repo, commit: file.info.commit, path: file.info.path, content: file.info.hash, rows: cols.rows }, cols };
  };
  const r = read(reference);
  const c = read({ ...current, path: current.path ?? reference.path });
  return { reference: r.side, current: c.side, options, ...compareColumns(r.cols, c.cols, options) };
}

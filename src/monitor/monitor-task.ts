// The monitor step: `transform.ml` with `task: drift` compares the datum's CSV file with a
// reference file (another input, pinned to a commit or a branch) and writes /drift.json into the
// output commit, so the drift history is versioned with provenance like any other output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fieldError, MlError } from '../ml/errors.js';
import { csvFiles } from '../ml/readers/csv.js';
import { compareColumns, DRIFT_DEFAULTS, poolColumns, readColumns, type CategoryTest, type DriftOptions, type DriftVerdict, type NumberTest } from './drift.js';

/** The report a monitor step writes at the root of its output. */
export const DRIFT_FILE = 'drift.json';

const READ_BYTES = 1 << 20;

export interface DriftTaskSpec {
  /** `/pfs/<input>/...`: the reference CSV file, or a directory whose CSV files are pooled */
  reference: string;
  options: DriftOptions;
}

/** One side of a monitor step's comparison: the file and the input commit it came from. */
export interface DriftJsonSide {
  input: string;
  path: string;
  repo: string | null;
  commit: string | null;
  rows: number;
  /** CSV files read: 1, or those under a directory, pooled */
  files: number;
}

export interface DriftJson extends DriftVerdict {
  task: 'drift';
  pipeline: string | null;
  job: string | null;
  reference: DriftJsonSide;
  current: DriftJsonSide;
  options: DriftOptions;
}

const OPTION_FIELDS: Record<string, keyof DriftOptions> = {
  alpha: 'alpha',
  correction: 'correction',
  distance_threshold: 'distanceThreshold',
  psi_threshold: 'psiThreshold',
  number_test: 'numberTest',
  category_test: 'categoryTest',
  max_values: 'maxValues',
};

/** `transform.ml.drift` (optional thresholds and tests) with `transform.ml.reference`. */
export function parseDriftTask(ml: Record<string, unknown>, at: string, normalize: (p: string, at: string) => string): DriftTaskSpec {
  if (typeof ml.reference !== 'string' || ml.reference === '')
    throw fieldError(`${at}.reference`, 'missing: task drift compares the data with a reference file', 'add the reference as an input pinned to a commit (pfs: {name: reference, repo: ..., commit: ...}) and set reference: /pfs/reference/<file>.csv');
  for (const f of ['chain', 'split', 'model', 'metrics']) if (ml[f] !== undefined) throw fieldError(`${at}.${f}`, 'is not used by task drift', 'remove it');
  const options: DriftOptions = { ...DRIFT_DEFAULTS };
  const d = ml.drift ?? {};
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw fieldError(`${at}.drift`, 'expected an object', 'e.g. drift: {alpha: 0.05, number_test: ks}');
  for (const [k, v] of Object.entries(d)) {
    const key = OPTION_FIELDS[k];
    if (!key) throw fieldError(`${at}.drift.${k}`, 'unknown field', `known fields: ${Object.keys(OPTION_FIELDS).join(', ')}`);
    const bad = (want: string) => fieldError(`${at}.drift.${k}`, `expected ${want}, got ${JSON.stringify(v)}`);
    if (key === 'alpha') {
      if (typeof v !== 'number' || !(v > 0 && v < 1)) throw bad('a number between 0 and 1');
      options.alpha = v;
    } else if (key === 'distanceThreshold' || key === 'psiThreshold') {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad('a positive number');
      options[key] = v;
    } else if (key === 'maxValues') {
      if (!Number.isInteger(v) || (v as number) < 1000) throw bad('an integer of at least 1000');
      options.maxValues = v as number;
    } else if (key === 'correction') {
      if (v !== 'bonferroni' && v !== 'none') throw bad('bonferroni or none');
      options.correction = v;
    } else if (key === 'numberTest') {
      if (!['auto', 'ks', 'wasserstein', 'psi'].includes(v as string)) throw bad('auto, ks, wasserstein or psi');
      options.numberTest = v as NumberTest;
    } else {
      if (!['auto', 'chi2', 'jensenshannon', 'psi'].includes(v as string)) throw bad('auto, chi2, jensenshannon or psi');
      options.categoryTest = v as CategoryTest;
    }
  }
  return { reference: normalize(ml.reference, `${at}.reference`), options };
}

/** A local file's bytes, a megabyte at a time. */
function* fileChunks(file: string): Generator<Buffer> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new MlError(`data file ${file} not found`, 'check transform.ml.data.path, transform.ml.reference and the input globs');
  }
  try {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, READ_BYTES, null);
      if (n === 0) return;
      yield Buffer.from(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface DriftTaskContext {
  pfsDir: string;
  outDir: string;
  log(message: string): void;
  pipeline?: string;
  job?: string;
  inputs?: { name: string; repo?: string; commit: string }[];
}

/** Compare the datum's file with the reference and write drift.json. */
export function runDriftTask(current: string, task: DriftTaskSpec, ctx: DriftTaskContext): DriftJson {
  const side = (pfsPath: string) => {
    const input = pfsPath.replace(/^\/pfs\//, '').split('/')[0]!;
    const from = ctx.inputs?.find((i) => i.name === input);
    // a directory is every *.csv under it, pooled (sharing one file's value budget)
    const files = csvFiles(path.join(ctx.pfsDir, pfsPath.replace(/^\/pfs\/?/, '')));
    if (files.length === 0) throw new MlError(`${pfsPath} holds no .csv file`, 'point data.path and reference at a CSV file, or a directory of them');
    const share = Math.max(1000, Math.floor(task.options.maxValues / files.length));
    const cols = poolColumns(files.map((f) => readColumns(fileChunks(f), path.join(pfsPath, path.relative(path.join(ctx.pfsDir, pfsPath.replace(/^\/pfs\/?/, '')), f)), share)));
    return { side: { input, path: pfsPath, repo: from?.repo ?? null, commit: from?.commit ?? null, rows: cols.rows, files: files.length }, cols };
  };
  const ref = side(task.reference);
  const cur = side(current);
  const verdict = compareColumns(ref.cols, cur.cols, task.options);
  const report: DriftJson = { task: 'drift', pipeline: ctx.pipeline ?? null, job: ctx.job ?? null, reference: ref.side, current: cur.side, options: task.options, ...verdict };
  fs.mkdirSync(ctx.outDir, { recursive: true });
  fs.writeFileSync(path.join(ctx.outDir, DRIFT_FILE), JSON.stringify(report, null, 2) + '\n');
  ctx.log(verdict.drift ? `drift: ${[...verdict.drifted, ...verdict.schemaChanges].join(', ')}` : 'no drift');
  return report;
}

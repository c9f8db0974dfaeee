// The monitor step: `transform.ml` with `task: drift` compares the datum's CSV file with a
// reference file (another input, pinned to a commit or a branch) and writes /drift.json into the
// output commit, so the drift history is versioned with provenance like any other output. With
// `reference: window` the reference is the earlier versions inside a windowed input's datum, so it
// moves with the input by itself; each window writes its own report under /drift/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fieldError, MlError } from '../ml/errors.js';
import { csvFiles } from '../ml/readers/csv.js';
import { scanCsv } from './csv-scan.js';
import { compareColumns, DRIFT_DEFAULTS, poolColumns, readColumns, type CategoryTest, type DriftOptions, type DriftVerdict, type NumberTest } from './drift.js';

/** The report a monitor step writes at the root of its output. */
export const DRIFT_FILE = 'drift.json';

/** `reference: window`: the earlier versions in the datum's window (paths are never this: they start with /pfs/). */
export const WINDOW_REFERENCE = 'window';

/** Where a window's report lies: one file per window, named by its bounds, so windows never share a path. */
export function windowDriftFile(w: { start: number; end: number }): string {
  return `drift/${w.start}-${w.end}.json`;
}

const READ_BYTES = 1 << 20;

export interface DriftTaskSpec {
  /** `/pfs/<input>/...`: the reference CSV file, or a directory whose CSV files are pooled; or WINDOW_REFERENCE */
  reference: string;
  options: DriftOptions;
  /** labels that arrived for the predictions in `data.path`, to score them */
  labels?: LabelsSpec;
  /** `data.delimiter`, for every file the step reads */
  delimiter: string;
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
  /** `reference: window`: the versions on this side, oldest first (the reference's are pooled) */
  commits?: { commit: string; rows: number; files: number }[];
}

/** `reference: window`: the window the report was computed in. */
export interface DriftJsonWindow {
  by: 'time' | 'count';
  /** ms since the epoch, or positions in the branch's history; end exclusive */
  start: number;
  end: number;
  /** the window's commits that brought a version of `data.path`, oldest first */
  versions: string[];
}

export interface DriftJson extends DriftVerdict {
  task: 'drift';
  pipeline: string | null;
  job: string | null;
  reference: DriftJsonSide;
  current: DriftJsonSide;
  options: DriftOptions;
  /** with `labels`: the predictions scored against the labels that arrived */
  performance?: Performance;
  /** with `reference: window` */
  window?: DriftJsonWindow;
  /** why nothing was compared (a window holding one version: nothing before it to compare with) */
  note?: string;
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
export function parseDriftTask(ml: Record<string, unknown>, at: string, normalize: (p: string, at: string) => string, delimiter = ','): DriftTaskSpec {
  if (typeof ml.reference !== 'string' || ml.reference === '')
    throw fieldError(`${at}.reference`, 'missing: task drift compares the data with a reference file', 'add the reference as an input pinned to a commit (pfs: {name: reference, repo: ..., commit: ...}) and set reference: /pfs/reference/<file>.csv, or set reference: window on a windowed input');
  if (ml.reference === WINDOW_REFERENCE && ml.labels !== undefined) throw fieldError(`${at}.labels`, 'is not used with reference: window', 'score labels in a step whose reference is an input (reference: /pfs/<input>/...)');
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
  const labels = parseLabels(ml.labels, `${at}.labels`, normalize);
  const reference = ml.reference === WINDOW_REFERENCE ? WINDOW_REFERENCE : normalize(ml.reference, `${at}.reference`);
  return { reference, options, delimiter, ...(labels ? { labels } : {}) };
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
  /** the datum's window (a windowed input): its bounds and commits, oldest first */
  window?: { by: 'time' | 'count'; start: number; end: number; commits: string[] };
}

/** Where a report lies in the output: /drift.json, or its window's file. */
export function driftFileOf(report: DriftJson): string {
  return report.window ? windowDriftFile(report.window) : DRIFT_FILE;
}

/** Compare the datum's file with the reference and write the report (driftFileOf). */
export function runDriftTask(current: string, task: DriftTaskSpec, ctx: DriftTaskContext): DriftJson {
  if (task.reference === WINDOW_REFERENCE) return runWindowDrift(current, task, ctx);
  const local = (pfsPath: string) => path.join(ctx.pfsDir, pfsPath.replace(/^\/pfs\/?/, ''));
  const side = (pfsPath: string) => {
    const input = pfsPath.replace(/^\/pfs\//, '').split('/')[0]!;
    const from = ctx.inputs?.find((i) => i.name === input);
    // a directory is every *.csv under it, pooled (sharing one file's value budget)
    const files = csvFiles(path.join(ctx.pfsDir, pfsPath.replace(/^\/pfs\/?/, '')));
    if (files.length === 0) throw new MlError(`${pfsPath} holds no .csv file`, 'point data.path and reference at a CSV file, or a directory of them');
    const share = Math.max(1000, Math.floor(task.options.maxValues / files.length));
    const cols = poolColumns(files.map((f) => readColumns(fileChunks(f), path.join(pfsPath, path.relative(path.join(ctx.pfsDir, pfsPath.replace(/^\/pfs\/?/, '')), f)), share, task.delimiter)));
    return { side: { input, path: pfsPath, repo: from?.repo ?? null, commit: from?.commit ?? null, rows: cols.rows, files: files.length }, cols };
  };
  const ref = side(task.reference);
  const cur = side(current);
  const verdict = compareColumns(ref.cols, cur.cols, task.options);
  const report: DriftJson = { task: 'drift', pipeline: ctx.pipeline ?? null, job: ctx.job ?? null, reference: ref.side, current: cur.side, options: task.options, ...verdict };
  if (task.labels) {
    if (fs.statSync(local(current)).isDirectory()) throw new MlError(`transform.ml.labels: ${current} is a directory; labels score one predictions file`, 'set data.path to the predictions CSV file');
    report.performance = scorePredictions(local(current), current, task.labels, local(task.labels.path), task.delimiter);
  }
  writeReport(ctx, report);
  return report;
}

function writeReport(ctx: DriftTaskContext, report: DriftJson): void {
  const target = path.join(ctx.outDir, driftFileOf(report));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, JSON.stringify(report, null, 2) + '\n');
  ctx.log(report.note ?? (report.drift ? `drift: ${[...report.drifted, ...report.schemaChanges].join(', ')}` : 'no drift'));
}

/**
 * `reference: window`: the datum is a window of a windowed input, laid out as
 * `/pfs/<input>/<commit>/<path>`. `data.path` (`/pfs/<input>[/<path>]`) names the file as it lies
 * in each commit; the newest commit of the window that brought it is the current data and the
 * earlier ones, pooled, the reference. A window with one version writes a report saying so.
 */
function runWindowDrift(current: string, task: DriftTaskSpec, ctx: DriftTaskContext): DriftJson {
  const w = ctx.window;
  const [, , input, ...rest] = current.split('/');
  if (!w || !input) throw new MlError(`transform.ml.reference: window needs a windowed input, and ${current} is not in one`, 'give the input of data.path a window, e.g. window: {size: 2 commits, every: 1 commit}');
  const from = ctx.inputs?.find((i) => i.name === input);
  const inner = rest.join('/');
  // a commit of the window that did not change the file brought no version of it: it is passed over
  const versions = w.commits.flatMap((commit) => {
    const local = path.join(ctx.pfsDir, input, commit, inner);
    if (!fs.existsSync(local)) return [];
    const files = csvFiles(local);
    return files.length > 0 ? [{ commit, local, files }] : [];
  });
  if (versions.length === 0) throw new MlError(`${current} holds no .csv file in any commit of the window`, 'point data.path at the CSV file as it lies in the input (e.g. /pfs/sales/sales.csv), or at the input');
  const read = (v: (typeof versions)[number], maxValues: number) => {
    const share = Math.max(1000, Math.floor(maxValues / v.files.length));
    return poolColumns(v.files.map((f) => readColumns(fileChunks(f), `${path.posix.join('/pfs', input, v.commit, path.relative(path.join(ctx.pfsDir, input, v.commit), f))}`, share, task.delimiter)));
  };
  const latest = versions[versions.length - 1]!;
  const earlier = versions.slice(0, -1);
  const cur = read(latest, task.options.maxValues);
  const side = (vs: typeof versions, cols: { rows: number }[]): DriftJsonSide => ({
    input,
    path: current,
    repo: from?.repo ?? null,
    commit: vs.length > 0 ? vs[vs.length - 1]!.commit : null,
    rows: cols.reduce((n, c) => n + c.rows, 0),
    files: vs.reduce((n, v) => n + v.files.length, 0),
    commits: vs.map((v, i) => ({ commit: v.commit, rows: cols[i]!.rows, files: v.files.length })),
  });
  const window: DriftJsonWindow = { by: w.by, start: w.start, end: w.end, versions: versions.map((v) => v.commit) };
  const base = { task: 'drift' as const, pipeline: ctx.pipeline ?? null, job: ctx.job ?? null, options: task.options, window };
  let report: DriftJson;
  if (earlier.length === 0) {
    const note = `no reference: the window holds one version of ${current} (${latest.commit}), nothing before it to compare with`;
    report = { ...base, reference: side([], []), current: side([latest], [cur]), drift: false, drifted: [], schemaChanges: [], worst: null, tested: 0, alphaPerColumn: task.options.alpha, columns: [], note };
  } else {
    // the pool shares one file's value budget, as `tusk drift --window` does
    const refs = earlier.map((v) => read(v, Math.max(1000, Math.floor(task.options.maxValues / earlier.length))));
    const verdict = compareColumns(poolColumns(refs), cur, task.options);
    report = { ...base, reference: side(earlier, refs), current: side([latest], [cur]), ...verdict };
  }
  writeReport(ctx, report);
  return report;
}

/** Labels that arrived after the predictions: where they are and how they join. */
export interface LabelsSpec {
  /** `/pfs/<input>/...`: a CSV file holding `key` and `label` columns */
  path: string;
  key: string;
  label: string;
}

/** How the predictions of one window fared against the labels that arrived for them. */
export interface Performance {
  kind: 'regression' | 'classification';
  /** predictions whose key has a label */
  joined: number;
  /** predictions whose key has none (yet) */
  unlabelled: number;
  accuracy?: number | null;
  mae?: number | null;
  rmse?: number | null;
  r2?: number | null;
}

/** `transform.ml.labels`, checked. */
export function parseLabels(v: unknown, at: string, normalize: (p: string, at: string) => string): LabelsSpec | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fieldError(at, 'expected {path, key, label}', 'e.g. labels: {path: /pfs/sold/sold.csv, key: id, label: price}');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['path', 'key', 'label'].includes(k)) throw fieldError(`${at}.${k}`, 'unknown field', 'known fields: path, key, label');
  for (const k of ['path', 'key', 'label']) if (typeof o[k] !== 'string' || o[k] === '') throw fieldError(`${at}.${k}`, `missing: labels need ${k === 'path' ? 'a CSV file' : `the ${k} column`}`);
  return { path: normalize(o.path as string, `${at}.path`), key: o.key as string, label: o.label as string };
}

/** Two columns of each row of a local CSV file, as strings (missing cells as null). */
function pairs(file: string, source: string, a: string, b: string, each: (x: string | null, y: string | null) => void, delimiter: string): void {
  let ia = -1;
  let ib = -1;
  let last = -1;
  let x: string | null = null;
  let y: string | null = null;
  scanCsv(fileChunks(file), source, (columns) => {
    ia = columns.findIndex((c) => c.name === a);
    ib = columns.findIndex((c) => c.name === b);
    for (const [name, i] of [[a, ia], [b, ib]] as const) if (i < 0) throw new MlError(`${source} has no column "${name}"`, `its columns are: ${columns.map((c) => c.name).join(', ')}`);
    last = columns.length - 1;
    const cell = (j: number, v: string | null) => {
      if (j === ia) x = v;
      if (j === ib) y = v;
      if (j === last) {
        each(x, y);
        x = y = null;
      }
    };
    return { number: (j, v) => cell(j, String(v)), string: (j, v) => cell(j, v), missing: (j) => cell(j, null), invalid: (j, v) => cell(j, v) };
  }, delimiter);
}

/**
 * Join predictions (column `prediction`, keyed by `labels.key`) with the labels that arrived,
 * and score them: accuracy when the labels are categories, MAE, RMSE and R² (as scikit-learn
 * defines them) when they are numbers. Holds the labels in memory, key → label.
 */
export function scorePredictions(predictions: string, predictionsPath: string, labels: LabelsSpec, labelsFile: string, delimiter = ','): Performance {
  const truth = new Map<string, string>();
  let numeric = true;
  pairs(labelsFile, labels.path, labels.key, labels.label, (k, l) => {
    if (k === null || l === null) return;
    truth.set(k, l);
    if (!Number.isFinite(Number(l))) numeric = false;
  }, delimiter);
  let joined = 0;
  let unlabelled = 0;
  let correct = 0;
  let absErr = 0;
  let sqErr = 0;
  // Welford over the labels, for R²'s total sum of squares
  let mean = 0;
  let m2 = 0;
  pairs(predictions, predictionsPath, labels.key, 'prediction', (k, p) => {
    const l = k === null ? undefined : truth.get(k);
    if (l === undefined || p === null) {
      unlabelled++;
      return;
    }
    joined++;
    if (!numeric) {
      if (p === l) correct++;
      return;
    }
    const y = Number(l);
    const e = Number(p) - y;
    absErr += Math.abs(e);
    sqErr += e * e;
    const d = y - mean;
    mean += d / joined;
    m2 += d * (y - mean);
  }, delimiter);
  if (!numeric) return { kind: 'classification', joined, unlabelled, accuracy: joined ? correct / joined : null };
  return { kind: 'regression', joined, unlabelled, mae: joined ? absErr / joined : null, rmse: joined ? Math.sqrt(sqErr / joined) : null, r2: joined > 1 && m2 > 0 ? 1 - sqErr / m2 : null };
}

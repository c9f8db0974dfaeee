// Predictions as rows: the columns a prediction adds (prediction, proba_<class>, or score and
// anomaly) as CSV lines or JSON objects, and turning JSON instances into a table the chain can take.
import { MlError } from './errors.js';
import type { ChainJson } from './chain.js';
import type { Prediction } from './stages/types.js';
import type { TextBuffer } from './text-buffer.js';
import { csvField } from './readers/csv.js';
import { describeType, tensorSize, type Column, type Label, type NumberColumn, type StringColumn, type Table } from './table.js';

/** Column names a prediction adds. */
export function predictionHeader(p: Prediction): string[] {
  if (p.kind === 'regression') return ['prediction'];
  if (p.kind === 'anomaly') return ['score', 'anomaly'];
  return ['prediction', ...(p.proba ? p.classes.map((c) => `proba_${String(c)}`) : [])];
}

/** The columns of a predictions file that a batch keeps: its number and string columns (`path`, `label` of images). */
function keptColumns(t: Table): (NumberColumn | StringColumn)[] {
  return t.columns.filter((c): c is NumberColumn | StringColumn => c.type === 'number' || c.type === 'string');
}

/** The header line of a predictions file: the record index (CIFAR-10), the input's number and string columns, then the prediction's. */
export function predictionCsvHeader(t: Table, p: Prediction, format: string): string {
  const names = [...(format === 'cifar10' ? ['index'] : []), ...keptColumns(t).map((c) => c.name), ...predictionHeader(p)];
  return names.map(csvField).join(',') + '\n';
}

/**
 * The lines of a predictions file for one batch, each ending in a newline, in the header's
 * order. Numbers print as String(n) does (the shortest text that reads back as the same
 * double; never quoted, as that text holds no comma); missing values as empty fields.
 */
export function writePredictionCsvLines(out: TextBuffer, t: Table, p: Prediction, format: string): void {
  const kept = keptColumns(t);
  const first = t.offset ?? 0;
  const index = format === 'cifar10';
  const cells = predictionWriter(out, p);
  // per column, the fraction digits of the last number: cells of a column tend to share them
  const places = new Int8Array(kept.length).fill(-1);
  for (let i = 0; i < t.rows; i++) {
    if (index) {
      out.number(first + i);
      out.byte(COMMA);
    }
    for (let j = 0; j < kept.length; j++) {
      const c = kept[j]!;
      if (c.type === 'number') {
        // read from decimal text, so nearly always short decimals: number() prints those fast
        const v = c.values[i]!;
        if (v === v) places[j] = out.number(v, places[j]);
      } else {
        const s = c.values[i]!;
        if (s !== null) out.text(csvField(s));
      }
      out.byte(COMMA);
    }
    cells(i);
    out.byte(NEWLINE);
  }
}

const COMMA = 44;
const NEWLINE = 10;

/** Writes the prediction's fields of row i. */
function predictionWriter(out: TextBuffer, p: Prediction): (i: number) => void {
  // predictions are computed (often in float32), so rarely short decimals: String() prints them
  if (p.kind === 'regression') return (i) => out.text(String(p.values[i]!));
  if (p.kind === 'anomaly')
    return (i) => {
      out.text(String(p.score[i]!));
      out.byte(COMMA);
      out.byte(p.flag[i] ? 49 : 48);
    };
  const classes = p.classes.map((c) => csvField(String(c)));
  const proba = p.proba;
  const k = classes.length;
  return (i) => {
    out.text(classes[p.index[i]!]!);
    if (proba)
      for (let c = i * k; c < i * k + k; c++) {
        out.byte(COMMA);
        out.text(String(proba[c]!));
      }
  };
}

/** One JSON value per row: the prediction, with class probabilities or anomaly scores beside it. */
export function predictionObjects(p: Prediction): Record<string, unknown>[] {
  const n = p.kind === 'regression' ? p.values.length : p.kind === 'anomaly' ? p.score.length : p.index.length;
  return Array.from({ length: n }, (_, i) => {
    if (p.kind === 'regression') return { prediction: p.values[i]! };
    if (p.kind === 'anomaly') return { prediction: p.flag[i] === 1, score: p.score[i]!, threshold: p.threshold };
    const out: Record<string, unknown> = { prediction: p.classes[p.index[i]!] as Label };
    if (p.proba) {
      const k = p.classes.length;
      out.probabilities = Object.fromEntries(p.classes.map((c, j) => [String(c), p.proba![i * k + j]!]));
    }
    return out;
  });
}

/**
 * A table from JSON instances (objects keyed by feature name) typed by the model's features:
 * numbers, strings, images as base64 PNG/JPEG, tensors as (nested) number arrays. Any mismatch
 * is an MlError naming the instance and feature (HTTP 400 when serving).
 */
export function tableFromInstances(instances: unknown, features: ChainJson['features']): Table {
  if (!Array.isArray(instances)) throw new MlError('"instances" must be a list of objects');
  const rows = instances.length;
  const columns: Column[] = features.map((f) => {
    const get = (i: number): unknown => {
      const inst = instances[i];
      if (inst === null || typeof inst !== 'object' || Array.isArray(inst)) throw new MlError(`instance ${i} is not an object`);
      if (!(f.name in inst)) throw new MlError(`instance ${i} lacks feature "${f.name}" (${describeType(f)})`);
      return (inst as Record<string, unknown>)[f.name];
    };
    switch (f.type) {
      case 'number':
        return {
          name: f.name,
          type: 'number',
          values: Float64Array.from({ length: rows }, (_, i) => {
            const v = get(i);
            if (v === null) return NaN;
            if (typeof v !== 'number' || !Number.isFinite(v)) throw new MlError(`instance ${i}: feature "${f.name}" must be a number, got ${JSON.stringify(v)}`);
            return v;
          }),
        };
      case 'string':
        return {
          name: f.name,
          type: 'string',
          values: Array.from({ length: rows }, (_, i) => {
            const v = get(i);
            if (v === null) return null;
            // a numeric id sent as a number is the same category as its text
            if (typeof v === 'number' && Number.isFinite(v)) return String(v);
            if (typeof v !== 'string') throw new MlError(`instance ${i}: feature "${f.name}" must be a string, got ${JSON.stringify(v)}`);
            return v;
          }),
        };
      case 'image':
        return {
          name: f.name,
          type: 'image',
          shape: f.shape,
          values: Array.from({ length: rows }, (_, i) => {
            const v = get(i);
            if (typeof v !== 'string') throw new MlError(`instance ${i}: feature "${f.name}" must be a base64-encoded PNG or JPEG`);
            return new Uint8Array(Buffer.from(v, 'base64'));
          }),
        };
      case 'tensor': {
        const shape = f.shape ?? [];
        const w = tensorSize(shape);
        const values = new Float32Array(rows * w);
        for (let i = 0; i < rows; i++) {
          const v = get(i);
          const flat = Array.isArray(v) ? (v as unknown[]).flat(3) : undefined;
          if (!flat || flat.length !== w || !flat.every((x) => typeof x === 'number')) throw new MlError(`instance ${i}: feature "${f.name}" must be ${shape.join('x')} numbers`);
          values.set(flat as number[], i * w);
        }
        return { name: f.name, type: 'tensor', shape, values };
      }
    }
  });
  return { rows, columns };
}

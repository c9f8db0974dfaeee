// In-memory data as the chain sees it: typed columns, and the schema (names, types, shapes) that
// pre-flight checks run on before any row is read.

/** number: float64 with NaN for missing; string: null for missing; image: encoded PNG/JPEG bytes; tensor: float32 [h, w, c] per row. */
export type ColumnType = 'number' | 'string' | 'image' | 'tensor';

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  /** tensor: [height, width, channels]; image: the decoded shape when known */
  shape?: number[];
}

export interface Schema {
  columns: ColumnSchema[];
}

export type NumberColumn = { name: string; type: 'number'; values: Float64Array };
export type StringColumn = { name: string; type: 'string'; values: (string | null)[] };
export type ImageColumn = { name: string; type: 'image'; values: Uint8Array[]; shape?: number[] };
export type TensorColumn = { name: string; type: 'tensor'; shape: number[]; values: Float32Array };
export type Column = NumberColumn | StringColumn | ImageColumn | TensorColumn;

export interface Table {
  rows: number;
  columns: Column[];
  /** rows of the same data before this table's first (a batch of a stream): error messages count from there */
  offset?: number;
}

/** A class label or a regression target as read from the data. */
export type Label = string | number;

export function schemaOf(t: Table): Schema {
  return { columns: t.columns.map((c) => columnSchema(c)) };
}

export function columnSchema(c: Column): ColumnSchema {
  return c.type === 'tensor' || (c.type === 'image' && c.shape) ? { name: c.name, type: c.type, shape: c.shape } : { name: c.name, type: c.type };
}

export function findColumn(t: Table | Schema, name: string): Column | ColumnSchema | undefined {
  return (t.columns as (Column | ColumnSchema)[]).find((c) => c.name === name);
}

/** The width in numbers of a row of a tensor column. */
export function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The rows `idx` of a column, in that order. */
export function takeColumn(c: Column, idx: ArrayLike<number>): Column {
  const n = idx.length;
  switch (c.type) {
    case 'number': {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = c.values[idx[i]!]!;
      return { ...c, values: v };
    }
    case 'string':
      return { ...c, values: Array.from({ length: n }, (_, i) => c.values[idx[i]!]!) };
    case 'image':
      return { ...c, values: Array.from({ length: n }, (_, i) => c.values[idx[i]!]!) };
    case 'tensor': {
      const w = tensorSize(c.shape);
      const v = new Float32Array(n * w);
      for (let i = 0; i < n; i++) v.set(c.values.subarray(idx[i]! * w, idx[i]! * w + w), i * w);
      return { ...c, values: v };
    }
  }
}

export function takeRows(t: Table, idx: ArrayLike<number>): Table {
  return { rows: idx.length, columns: t.columns.map((c) => takeColumn(c, idx)) };
}

/** Numeric columns as one row-major float64 matrix (n × d). */
export function toMatrix(t: Table): { x: Float64Array; n: number; d: number; names: string[] } {
  const cols = t.columns as NumberColumn[];
  const n = t.rows;
  const d = cols.length;
  const x = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    const v = cols[j]!.values;
    for (let i = 0; i < n; i++) x[i * d + j] = v[i]!;
  }
  return { x, n, d, names: cols.map((c) => c.name) };
}

/** A cell as JSON/CSV sees it. */
export function cellValue(c: Column, i: number): Label | null {
  switch (c.type) {
    case 'number':
      return Number.isNaN(c.values[i]!) ? null : c.values[i]!;
    case 'string':
      return c.values[i]!;
    default:
      return null;
  }
}

/** Human description of a column's type for error messages: `a string`, `a 32x32x3 tensor`. */
export function describeType(c: ColumnSchema): string {
  if (c.type === 'tensor') return `a ${(c.shape ?? []).join('x')} tensor`;
  if (c.type === 'image') return c.shape ? `an encoded ${c.shape.join('x')} image` : 'an encoded image';
  return c.type === 'number' ? 'a number' : 'a string';
}

/** Sorted distinct labels, numbers numerically (as scikit-learn orders classes). */
export function sortLabels(labels: Iterable<Label>): Label[] {
  const set = new Set<Label>(labels);
  return [...set].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

// Transformers: fitted on the training rows only, then applied unchanged to test rows and to
// whatever a model later predicts on. Each states, in `outSchema`, which column types it takes.
import { MlError } from '../errors.js';
import { decodeImage, imageToTensor } from '../readers/images.js';
import { describeType, type Column, type ColumnSchema, type NumberColumn, type Schema, type Table } from '../table.js';
import { ParamReader } from './params.js';
import type { StageFail, StreamFit, TransformerDef } from './types.js';

/** The columns a stage works on: the listed ones (which must exist), else those `byDefault` picks. */
function pick(schema: Schema, listed: string[] | undefined, byDefault: (c: ColumnSchema) => boolean, fail: StageFail): ColumnSchema[] {
  if (!listed) return schema.columns.filter(byDefault);
  return listed.map((name) => {
    const c = schema.columns.find((x) => x.name === name);
    if (!c) fail(`column "${name}" does not exist here`, `columns at this stage: ${schema.columns.map((x) => x.name).join(', ')}`, name);
    return c;
  });
}

function requireNumeric(cols: ColumnSchema[], stage: string, fail: StageFail): void {
  for (const c of cols)
    if (c.type !== 'number')
      fail(
        `column "${c.name}" is ${describeType(c)}; ${stage} needs numbers`,
        c.type === 'string' ? 'encode it first (OneHotEncoder), or list only numeric columns in "columns"' : c.type === 'image' ? 'decode it first (DecodeImage)' : 'use CNNClassifier for image tensors',
        c.name,
      );
}

function numberColumn(t: Table, name: string): NumberColumn {
  return t.columns.find((c) => c.name === name) as NumberColumn;
}

function replaceColumns(t: Table, replace: Map<string, Column[]>): Table {
  return { rows: t.rows, columns: t.columns.flatMap((c) => replace.get(c.name) ?? [c]) };
}

// ---------------------------------------------------------------------------------------------

type ScalerParams = { columns?: string[]; with_mean: boolean; with_std: boolean };
type ScalerState = { columns: string[]; mean: number[]; scale: number[] };

function nanStats(v: Float64Array): { n: number; mean: number; min: number; max: number; variance: number } {
  let n = 0;
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v)
    if (!Number.isNaN(x)) {
      n++;
      s += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  const mean = n === 0 ? 0 : s / n;
  let ss = 0;
  for (const x of v) if (!Number.isNaN(x)) ss += (x - mean) ** 2;
  return { n, mean, min, max, variance: n === 0 ? 0 : ss / n };
}

/**
 * nanStats over rows that go by: the sums of the first pass give count, mean, min and max, and a
 * second pass (only when `variance` is wanted) sums squared deviations from that mean. Both add
 * in row order, as nanStats does, so the same rows give the same numbers.
 */
function streamStats(columns: string[], variance: boolean): StreamFit<ReturnType<typeof nanStats>[]> {
  const st = columns.map(() => ({ n: 0, s: 0, min: Infinity, max: -Infinity, ss: 0 }));
  return {
    passes: variance ? 2 : 1,
    add(t, pass) {
      columns.forEach((name, j) => {
        const v = numberColumn(t, name).values;
        const a = st[j]!;
        const mean = a.n === 0 ? 0 : a.s / a.n;
        for (const x of v) {
          if (Number.isNaN(x)) continue;
          if (pass === 0) {
            a.n++;
            a.s += x;
            if (x < a.min) a.min = x;
            if (x > a.max) a.max = x;
          } else a.ss += (x - mean) ** 2;
        }
      });
    },
    done: () => st.map((a) => ({ n: a.n, mean: a.n === 0 ? 0 : a.s / a.n, min: a.min, max: a.max, variance: a.n === 0 ? 0 : a.ss / a.n })),
  };
}

/** A fit whose state comes from streamed statistics. */
function mapFit<A, F>(inner: StreamFit<A>, state: (a: A) => F): StreamFit<F> {
  return { passes: inner.passes, add: (t, pass) => inner.add(t, pass), done: () => state(inner.done()) };
}

function affine(t: Table, columns: string[], shift: number[], scale: number[], offset: number[] = []): Table {
  const repl = new Map<string, Column[]>();
  columns.forEach((name, j) => {
    const src = numberColumn(t, name).values;
    const v = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) v[i] = (src[i]! - shift[j]!) / scale[j]! + (offset[j] ?? 0);
    repl.set(name, [{ name, type: 'number', values: v }]);
  });
  return replaceColumns(t, repl);
}

function scalerState(columns: string[], stats: ReturnType<typeof nanStats>[], p: ScalerParams): ScalerState {
  const sd = stats.map((s) => Math.sqrt(s.variance));
  return { columns, mean: stats.map((s) => (p.with_mean ? s.mean : 0)), scale: sd.map((v) => (p.with_std && v > 0 ? v : 1)) };
}

/** (x − mean) / std per column, as sklearn.preprocessing.StandardScaler (population std; constant columns keep scale 1). */
export const StandardScaler: TransformerDef<ScalerParams, ScalerState> = {
  kind: 'transformer',
  name: 'StandardScaler',
  summary: 'Centre each numeric column to mean 0 and scale it to standard deviation 1.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { columns: r.strings('columns'), with_mean: r.boolean('with_mean', true), with_std: r.boolean('with_std', true) };
    r.done();
    return p;
  },
  outSchema(schema, p, fail) {
    requireNumeric(pick(schema, p.columns, () => true, fail), 'StandardScaler', fail);
    return schema;
  },
  fit(t, p) {
    const columns = (p.columns ?? t.columns.map((c) => c.name)).slice();
    return scalerState(columns, columns.map((name) => nanStats(numberColumn(t, name).values)), p);
  },
  fitStream(p, schema) {
    const columns = (p.columns ?? schema.map((c) => c.name)).slice();
    return mapFit(streamStats(columns, p.with_std), (stats) => scalerState(columns, stats, p));
  },
  apply: (t, _p, f) => affine(t, f.columns, f.mean, f.scale),
};

type MinMaxParams = { columns?: string[]; feature_range: number[] };
type MinMaxState = { columns: string[]; min: number[]; scale: number[]; offset: number[] };

function minMaxState(columns: string[], stats: ReturnType<typeof nanStats>[], p: MinMaxParams): MinMaxState {
  const [lo, hi] = p.feature_range as [number, number];
  return {
    columns,
    min: stats.map((s) => (s.n === 0 ? 0 : s.min)),
    scale: stats.map((s) => (s.n === 0 || s.max === s.min ? 1 : s.max - s.min) / (hi - lo)),
    offset: stats.map(() => lo),
  };
}

/** (x − min) / (max − min) mapped onto feature_range, as sklearn.preprocessing.MinMaxScaler. */
export const MinMaxScaler: TransformerDef<MinMaxParams, MinMaxState> = {
  kind: 'transformer',
  name: 'MinMaxScaler',
  summary: 'Scale each numeric column linearly onto feature_range (default [0, 1]) using the training min and max.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { columns: r.strings('columns'), feature_range: r.numbers('feature_range', [0, 1], { length: 2 }) };
    r.done();
    if (!(p.feature_range[0]! < p.feature_range[1]!)) fail(`parameter "feature_range" must be [low, high] with low < high, got ${JSON.stringify(p.feature_range)}`);
    return p;
  },
  outSchema(schema, p, fail) {
    requireNumeric(pick(schema, p.columns, () => true, fail), 'MinMaxScaler', fail);
    return schema;
  },
  fit(t, p) {
    const columns = (p.columns ?? t.columns.map((c) => c.name)).slice();
    return minMaxState(columns, columns.map((name) => nanStats(numberColumn(t, name).values)), p);
  },
  fitStream(p, schema) {
    const columns = (p.columns ?? schema.map((c) => c.name)).slice();
    return mapFit(streamStats(columns, false), (stats) => minMaxState(columns, stats, p));
  },
  apply: (t, _p, f) => affine(t, f.columns, f.min, f.scale, f.offset),
};

type PolyParams = { columns?: string[]; degree: number; interaction_only: boolean; include_bias: boolean };
type PolyState = { columns: string[]; terms: number[][]; names: string[] };

/** Index combinations (with replacement unless interaction_only) of sizes 1..degree, in sklearn's order. */
function polyTerms(d: number, degree: number, interactionOnly: boolean): number[][] {
  const out: number[][] = [];
  const rec = (start: number, acc: number[], size: number) => {
    if (acc.length === size) {
      out.push(acc.slice());
      return;
    }
    for (let j = start; j < d; j++) {
      acc.push(j);
      rec(interactionOnly ? j + 1 : j, acc, size);
      acc.pop();
    }
  };
  for (let size = 1; size <= degree; size++) rec(0, [], size);
  return out;
}

/** Polynomial and interaction terms up to `degree`, in sklearn.preprocessing.PolynomialFeatures order (no bias column unless include_bias). */
export const PolynomialFeatures: TransformerDef<PolyParams, PolyState> = {
  kind: 'transformer',
  name: 'PolynomialFeatures',
  summary: 'Replace the numeric columns by all their products up to `degree` (x, y → x, y, x², x·y, y² for degree 2).',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { columns: r.strings('columns'), degree: r.number('degree', 2, { min: 1, max: 5, int: true }), interaction_only: r.boolean('interaction_only', false), include_bias: r.boolean('include_bias', false) };
    r.done();
    return p;
  },
  outSchema(schema, p, fail) {
    const cols = pick(schema, p.columns, () => true, fail);
    requireNumeric(cols, 'PolynomialFeatures', fail);
    const names = new Set(cols.map((c) => c.name));
    const terms = polyTerms(cols.length, p.degree, p.interaction_only);
    if (terms.length > 10_000) fail(`degree ${p.degree} on ${cols.length} columns makes ${terms.length} features`, 'lower the degree or list fewer columns');
    const kept = schema.columns.filter((c) => !names.has(c.name));
    const made = terms.map((t) => ({ name: termName(cols.map((c) => c.name), t), type: 'number' as const }));
    return { columns: [...kept, ...(p.include_bias ? [{ name: '1', type: 'number' as const }] : []), ...made] };
  },
  fit(t, p) {
    const columns = (p.columns ?? t.columns.map((c) => c.name)).slice();
    const terms = polyTerms(columns.length, p.degree, p.interaction_only);
    return { columns, terms, names: terms.map((x) => termName(columns, x)) };
  },
  fitStream(p, schema) {
    const state = PolynomialFeatures.fit({ rows: 0, columns: schema.map((c) => ({ name: c.name, type: 'number', values: new Float64Array(0) })) }, p);
    return { passes: 0, add: () => undefined, done: () => state };
  },
  apply(t, p, f) {
    const src = f.columns.map((name) => numberColumn(t, name).values);
    const names = new Set(f.columns);
    const made: Column[] = [];
    if (p.include_bias) made.push({ name: '1', type: 'number', values: new Float64Array(t.rows).fill(1) });
    f.terms.forEach((term, k) => {
      const v = new Float64Array(t.rows);
      for (let i = 0; i < t.rows; i++) {
        let x = 1;
        for (const j of term) x *= src[j]![i]!;
        v[i] = x;
      }
      made.push({ name: f.names[k]!, type: 'number', values: v });
    });
    return { rows: t.rows, columns: [...t.columns.filter((c) => !names.has(c.name)), ...made] };
  },
};

function termName(names: string[], term: number[]): string {
  const counts = new Map<number, number>();
  for (const j of term) counts.set(j, (counts.get(j) ?? 0) + 1);
  return [...counts].map(([j, k]) => (k === 1 ? names[j]! : `${names[j]!}^${k}`)).join(' ');
}

type OneHotParams = { columns?: string[]; handle_unknown: 'ignore' | 'error' };
type OneHotState = { columns: string[]; categories: string[][] };

const cat = (c: Column, i: number): string | null => (c.type === 'string' ? c.values[i]! : c.type === 'number' ? (Number.isNaN(c.values[i]!) ? null : String(c.values[i]!)) : null);

/** One 0/1 column `name=value` per category seen in training (sorted); missing and unseen values are all zeros (handle_unknown: ignore). */
export const OneHotEncoder: TransformerDef<OneHotParams, OneHotState> = {
  kind: 'transformer',
  name: 'OneHotEncoder',
  summary: 'Replace each categorical column by one 0/1 column per category seen in training.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const p = { columns: r.strings('columns'), handle_unknown: r.choice('handle_unknown', ['ignore', 'error'] as const, 'ignore') };
    r.done();
    return p;
  },
  outSchema(schema, p, fail) {
    const cols = pick(schema, p.columns, (c) => c.type === 'string', fail);
    for (const c of cols) if (c.type !== 'string' && c.type !== 'number') fail(`column "${c.name}" is ${describeType(c)}; OneHotEncoder takes strings or numbers`, undefined, c.name);
    const names = new Set(cols.map((c) => c.name));
    // the category columns are known only after fitting; for type checks they are numbers
    return { columns: schema.columns.map((c) => (names.has(c.name) ? { name: `${c.name}=*`, type: 'number' as const } : c)) };
  },
  fit(t, p) {
    const columns = p.columns ?? t.columns.filter((c) => c.type === 'string').map((c) => c.name);
    const categories = columns.map((name) => {
      const c = t.columns.find((x) => x.name === name)!;
      const seen = new Set<string>();
      for (let i = 0; i < t.rows; i++) {
        const v = cat(c, i);
        if (v !== null) seen.add(v);
      }
      return [...seen].sort();
    });
    return { columns, categories };
  },
  fitStream(p, schema) {
    // the categories seen: as many as the data has distinct values, never its rows
    const columns = p.columns ?? schema.filter((c) => c.type === 'string').map((c) => c.name);
    const seen = columns.map(() => new Set<string>());
    return {
      passes: 1,
      add(t) {
        columns.forEach((name, j) => {
          const c = t.columns.find((x) => x.name === name)!;
          for (let i = 0; i < t.rows; i++) {
            const v = cat(c, i);
            if (v !== null) seen[j]!.add(v);
          }
        });
      },
      done: () => ({ columns, categories: seen.map((s) => [...s].sort()) }),
    };
  },
  apply(t, p, f) {
    const repl = new Map<string, Column[]>();
    f.columns.forEach((name, j) => {
      const c = t.columns.find((x) => x.name === name)!;
      const cats = f.categories[j]!;
      const pos = new Map(cats.map((v, k) => [v, k]));
      const out = cats.map((v) => ({ name: `${name}=${v}`, type: 'number' as const, values: new Float64Array(t.rows) }));
      for (let i = 0; i < t.rows; i++) {
        const v = cat(c, i);
        if (v === null) continue;
        const k = pos.get(v);
        if (k === undefined) {
          if (p.handle_unknown === 'error') throw new MlError(`OneHotEncoder: column "${name}" has category "${v}", unseen in training`, 'set handle_unknown: ignore to encode unseen categories as all zeros', { stage: 'OneHotEncoder', column: name });
          continue;
        }
        out[k]!.values[i] = 1;
      }
      repl.set(name, out);
    });
    return replaceColumns(t, repl);
  },
};

type ImputerParams = { columns?: string[]; strategy: 'mean' | 'median' | 'most_frequent' | 'constant'; fill_value?: string | number };
type ImputerState = { columns: string[]; fill: (string | number)[] };

/** Fill missing cells (empty, NA, NaN, null, ?) with the training mean, median, most frequent value or a constant, as sklearn.impute.SimpleImputer. */
export const SimpleImputer: TransformerDef<ImputerParams, ImputerState> = {
  kind: 'transformer',
  name: 'SimpleImputer',
  summary: 'Fill missing values with the column mean, median, most frequent value or a constant.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const strategy = r.choice('strategy', ['mean', 'median', 'most_frequent', 'constant'] as const, 'mean');
    const fv = r.value('fill_value');
    if (fv !== undefined && typeof fv !== 'string' && typeof fv !== 'number') fail(`parameter "fill_value" must be a number or a string, got ${JSON.stringify(fv)}`);
    const p: ImputerParams = { columns: r.strings('columns'), strategy };
    if (fv !== undefined) p.fill_value = fv as string | number;
    r.done();
    return p;
  },
  outSchema(schema, p, fail) {
    const numericOnly = p.strategy === 'mean' || p.strategy === 'median';
    const cols = pick(schema, p.columns, (c) => c.type === 'number' || (!numericOnly && c.type === 'string'), fail);
    for (const c of cols) {
      if (numericOnly && c.type !== 'number') fail(`column "${c.name}" is ${describeType(c)}; strategy ${p.strategy} needs numbers`, 'use strategy most_frequent or constant for strings', c.name);
      if (c.type !== 'number' && c.type !== 'string') fail(`column "${c.name}" is ${describeType(c)}; SimpleImputer fills numbers and strings`, undefined, c.name);
      if (p.strategy === 'constant' && c.type === 'number' && typeof p.fill_value === 'string') fail(`fill_value ${JSON.stringify(p.fill_value)} cannot fill number column "${c.name}"`, undefined, c.name);
    }
    return schema;
  },
  fit(t, p) {
    const numericOnly = p.strategy === 'mean' || p.strategy === 'median';
    const columns = p.columns ?? t.columns.filter((c) => c.type === 'number' || (!numericOnly && c.type === 'string')).map((c) => c.name);
    const fill = columns.map((name): string | number => {
      const c = t.columns.find((x) => x.name === name)!;
      if (p.strategy === 'constant') return p.fill_value ?? (c.type === 'number' ? 0 : 'missing');
      if (c.type === 'number') {
        const v = Array.from(c.values).filter((x) => !Number.isNaN(x));
        if (v.length === 0) return 0;
        if (p.strategy === 'mean') return v.reduce((a, b) => a + b, 0) / v.length;
        v.sort((a, b) => a - b);
        if (p.strategy === 'median') return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
        return mostFrequent(v);
      }
      const v = (c.values as (string | null)[]).filter((x): x is string => x !== null);
      return v.length === 0 ? 'missing' : mostFrequent(v);
    });
    return { columns, fill };
  },
  fitStream(p, schema) {
    if (p.strategy === 'median') return undefined;
    const numericOnly = p.strategy === 'mean';
    const columns = p.columns ?? schema.filter((c) => c.type === 'number' || (!numericOnly && c.type === 'string')).map((c) => c.name);
    const types = columns.map((name) => schema.find((c) => c.name === name)!.type);
    const sums = columns.map(() => ({ n: 0, s: 0 }));
    const counts = columns.map(() => new Map<string | number, number>());
    return {
      passes: p.strategy === 'constant' ? 0 : 1,
      add(t) {
        columns.forEach((name, j) => {
          const c = t.columns.find((x) => x.name === name)!;
          for (let i = 0; i < t.rows; i++) {
            const v = c.type === 'number' ? (Number.isNaN(c.values[i]!) ? null : c.values[i]!) : c.type === 'string' ? c.values[i]! : null;
            if (v === null) continue;
            if (p.strategy === 'mean') {
              sums[j]!.n++;
              sums[j]!.s += v as number;
            } else counts[j]!.set(v, (counts[j]!.get(v) ?? 0) + 1);
          }
        });
      },
      done: () => ({
        columns,
        fill: columns.map((_, j): string | number => {
          const number = types[j] === 'number';
          if (p.strategy === 'constant') return p.fill_value ?? (number ? 0 : 'missing');
          if (p.strategy === 'mean') return sums[j]!.n === 0 ? 0 : sums[j]!.s / sums[j]!.n;
          return counts[j]!.size === 0 ? (number ? 0 : 'missing') : mostFrequentOf(counts[j]!);
        }),
      }),
    };
  },
  apply(t, _p, f) {
    const repl = new Map<string, Column[]>();
    f.columns.forEach((name, j) => {
      const c = t.columns.find((x) => x.name === name)!;
      const fill = f.fill[j]!;
      if (c.type === 'number') repl.set(name, [{ ...c, values: c.values.map((x) => (Number.isNaN(x) ? Number(fill) : x)) }]);
      else if (c.type === 'string') repl.set(name, [{ ...c, values: c.values.map((x) => x ?? String(fill)) }]);
    });
    return replaceColumns(t, repl);
  },
};

/** The most frequent value; ties go to the smallest, as sklearn does. */
function mostFrequent<T extends string | number>(v: T[]): T {
  const counts = new Map<T, number>();
  for (const x of v) counts.set(x, (counts.get(x) ?? 0) + 1);
  return mostFrequentOf(counts);
}

function mostFrequentOf<T extends string | number>(counts: Map<T, number>): T {
  let best: T | undefined;
  let bestN = -1;
  for (const [x, n] of counts) if (n > bestN || (n === bestN && x < best!)) [best, bestN] = [x, n];
  return best!;
}

type DecodeParams = { column?: string; size?: number[]; channels?: number };
type DecodeState = { column: string; size: number[]; channels: number };

/** Decode an image column (PNG/JPEG bytes) to a float tensor [height, width, channels] in [0, 1], resized bilinearly. */
export const DecodeImage: TransformerDef<DecodeParams, DecodeState> = {
  kind: 'transformer',
  name: 'DecodeImage',
  summary: 'Decode PNG/JPEG images to [height, width, channels] tensors scaled to [0, 1], resizing to `size`.',
  parse(raw, fail) {
    const r = new ParamReader(raw, fail);
    const column = r.value('column');
    if (column !== undefined && typeof column !== 'string') fail(`parameter "column" must be a column name`);
    const size = r.value('size') === undefined ? undefined : r.numbers('size', [], { length: 2, int: true, min: 1 });
    const channels = r.optionalNumber('channels', { int: true });
    if (channels !== undefined && channels !== 1 && channels !== 3) fail(`parameter "channels" must be 1 or 3, got ${channels}`);
    r.done();
    return { column: column as string | undefined, size, channels };
  },
  outSchema(schema, p, fail) {
    const col = p.column ? schema.columns.find((c) => c.name === p.column) : schema.columns.find((c) => c.type === 'image');
    if (!col) return fail(p.column ? `column "${p.column}" does not exist here` : 'no image column to decode', 'read images with data.format: images', p.column);
    if (col.type !== 'image') return fail(`column "${col.name}" is ${describeType(col)}; DecodeImage takes encoded images`, undefined, col.name);
    const size = p.size ?? col.shape?.slice(0, 2);
    if (!size) return fail(`the size of images in "${col.name}" is unknown`, 'set parameter "size: [height, width]"', col.name);
    const channels = p.channels ?? (col.shape?.[2] === 1 ? 1 : 3);
    return { columns: schema.columns.map((c) => (c === col ? { name: c.name, type: 'tensor' as const, shape: [size[0]!, size[1]!, channels] } : c)) };
  },
  fit(t, p) {
    const col = (p.column ? t.columns.find((c) => c.name === p.column) : t.columns.find((c) => c.type === 'image')) as Extract<Column, { type: 'image' }>;
    const first = col.values.length > 0 ? decodeImage(col.values[0]!) : undefined;
    const size = p.size ?? col.shape?.slice(0, 2) ?? (first ? [first.height, first.width] : [1, 1]);
    return { column: col.name, size, channels: p.channels ?? (col.shape?.[2] === 1 ? 1 : 3) };
  },
  apply(t, _p, f) {
    const col = t.columns.find((c) => c.name === f.column);
    if (!col || col.type !== 'image') throw new MlError(`DecodeImage: column "${f.column}" is not an image column`, undefined, { stage: 'DecodeImage', column: f.column });
    const [h, w] = f.size as [number, number];
    const values = new Float32Array(t.rows * h * w * f.channels);
    col.values.forEach((bytes, i) => imageToTensor(decodeImage(bytes, `image ${i + 1}`), h, w, f.channels, values, i * h * w * f.channels));
    const repl = new Map<string, Column[]>([[f.column, [{ name: f.column, type: 'tensor', shape: [h, w, f.channels], values }]]]);
    return replaceColumns(t, repl);
  },
};

export const TRANSFORMERS = [StandardScaler, MinMaxScaler, PolynomialFeatures, OneHotEncoder, SimpleImputer, DecodeImage];

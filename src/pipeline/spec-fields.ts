// Reading a decoded spec field by field: each object's keys checked against the fields allowed
// at its place (with a "did you mean" for typos), typed getters, and errors that name the field
// path as the user wrote it, in Pachyderm's words.
import { InvalidArgumentError } from '../errors.js';
import { escapeControlChars } from '../store/paths.js';
import { parseDuration } from './duration.js';
import type { InputSpec } from './spec-types.js';

export type Obj = Record<string, unknown>;

/** What normalising one spec gathers on the way: warnings, ignored fields, where each input came from. */
export interface SpecContext {
  pipeline: string;
  baseDir: string;
  warnings: string[];
  ignored: string[];
  /** where each normalised input came from, for messages raised after sorting */
  paths: Map<InputSpec, string>;
}

/** A spec that cannot be read as one: `malformed pipeline spec: …`. */
export function malformed(msg: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed pipeline spec: ${msg}`, hint);
}

// A validation error located at a field: `<path>: <message>` (Pachyderm's message after the colon).
export function invalidAt(at: string, msg: string, hint?: string): InvalidArgumentError {
  return new InvalidArgumentError(at === '' ? msg : `${at}: ${msg}`, hint);
}

/** An InvalidArgumentError from a shared checker, re-thrown located at the field. */
export function rethrowAt(at: string, err: unknown): never {
  if (err instanceof InvalidArgumentError) throw invalidAt(at, err.message, err.hint);
  throw err;
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** How a value reads in an error: `string "x"`, `a list`, `number 3`. */
export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `<path>: expected <what>`, with what was given as the hint. */
export function expected(at: string, what: string, got: unknown, hint?: string): InvalidArgumentError {
  return malformed(`${at}: expected ${what}`, hint ?? `got ${typeOf(got)}`);
}

// One object of the spec with its keys checked against the fields allowed at that place. Keys are
// stored by their snake_case name; paths in messages use the spelling the user wrote.
export class Fields {
  private readonly keys = new Map<string, string>();

  constructor(
    readonly obj: Obj,
    readonly at: string,
    known: readonly string[],
  ) {
    for (const key of Object.keys(obj)) {
      const canon = known.includes(key) ? key : known.includes(snakeCase(key)) ? snakeCase(key) : undefined;
      if (canon === undefined) throw unknownField(join(at, key), key, known);
      const prev = this.keys.get(canon);
      if (prev !== undefined) {
        throw malformed(`field "${join(at, canon)}" is given twice, as "${prev}" and "${key}"`, 'keep one spelling');
      }
      this.keys.set(canon, key);
    }
  }

  static of(v: unknown, at: string, known: readonly string[], hint?: string): Fields {
    if (!isObj(v)) throw expected(at, 'object', v, hint);
    return new Fields(v, at, known);
  }

  /** Present and not null: JSON null means "unset", as in protobuf JSON. */
  has(f: string): boolean {
    const v = this.get(f);
    return v !== undefined && v !== null;
  }

  get(f: string): unknown {
    const key = this.keys.get(f);
    return key === undefined ? undefined : this.obj[key];
  }

  path(f: string): string {
    return join(this.at, this.keys.get(f) ?? f);
  }

  present(): string[] {
    return [...this.keys.keys()].filter((f) => this.has(f));
  }

  string(f: string): string | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw expected(this.path(f), 'string', v);
    return v;
  }

  bool(f: string): boolean | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw expected(this.path(f), 'boolean', v);
    return v;
  }

  int(f: string, min: number, max?: { limit: number; hint: string }): number | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    const n = toInt(v, this.path(f), min);
    if (max && n > max.limit) throw malformed(`${this.path(f)}: must be at most ${max.limit}, got ${n}`, max.hint);
    return n;
  }

  /** A string list; `single` also takes one string (stdin's common shorthand). */
  strings(f: string, single = false): string[] | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (single && typeof v === 'string') return [v];
    if (!Array.isArray(v)) throw expected(this.path(f), 'list of strings', v);
    return v.map((s, i) => {
      if (typeof s !== 'string') throw expected(`${this.path(f)}[${i}]`, 'string', s);
      return s;
    });
  }

  list(f: string): unknown[] | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw expected(this.path(f), 'list', v);
    return v;
  }

  fields(f: string, known: readonly string[]): Fields | undefined {
    return this.has(f) ? Fields.of(this.get(f), this.path(f), known) : undefined;
  }

  duration(f: string): number | undefined {
    const v = this.get(f);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw expected(this.path(f), 'duration string', v, 'write a duration such as "30s", "1m30s" or "1h"');
    try {
      const ms = parseDuration(v);
      if (ms <= 0) throw new InvalidArgumentError(`duration ${JSON.stringify(v)} must be positive`);
      return ms;
    } catch (err) {
      throw malformed(`${this.path(f)}: ${(err as Error).message}`, 'write a duration such as "30s", "1m30s" or "1h"');
    }
  }
}

// protobuf JSON also accepts 64-bit integers as decimal strings.
export function toInt(v: unknown, at: string, min: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw expected(at, 'integer', v);
  if (n < min) throw malformed(`${at}: must be at least ${min}, got ${n}`);
  return n;
}

function unknownField(at: string, key: string, known: readonly string[]): InvalidArgumentError {
  const near = closest(key, known);
  const hint =
    near !== undefined
      ? `did you mean "${/[A-Z]/.test(key) ? camelCase(near) : near}"?`
      : `fields allowed here: ${[...known].sort().join(', ')}`;
  return malformed(`unknown field "${escapeControlChars(at)}"`, hint);
}

// Closest known field by edit distance, compared without case or underscores so `JoinOn` finds join_on.
function closest(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '');
  const k = norm(key);
  let best: string | undefined;
  let bestDist = Math.max(1, Math.floor(k.length / 3)) + 1;
  for (const cand of known) {
    const d = editDistance(k, norm(cand));
    if (d < bestDist) [best, bestDist] = [cand, d];
  }
  return best;
}

// Optimal string alignment: Levenshtein plus adjacent transpositions ("trnasform").
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

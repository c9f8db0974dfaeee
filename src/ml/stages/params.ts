// Parsing stage parameters from the spec: every value checked for type and range, unknown keys
// refused, so that a typo (`degre: 2`) fails at `create pipeline` instead of being ignored.
import type { StageFail } from './types.js';

export class ParamReader {
  private readonly used = new Set<string>();
  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly fail: StageFail,
  ) {}

  private get(key: string): unknown {
    this.used.add(key);
    return this.raw[key];
  }

  number(key: string, def: number, opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {}): number {
    const v = this.get(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`parameter "${key}" must be a number, got ${JSON.stringify(v)}`);
    if (opts.int && !Number.isInteger(v)) this.fail(`parameter "${key}" must be an integer, got ${v}`);
    if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) this.fail(`parameter "${key}" must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(`parameter "${key}" must be at most ${opts.max}, got ${v}`);
    return v;
  }

  optionalNumber(key: string, opts: { min?: number; int?: boolean } = {}): number | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) {
      this.used.add(key);
      return undefined;
    }
    return this.number(key, 0, opts);
  }

  boolean(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') this.fail(`parameter "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  choice<T extends string>(key: string, options: readonly T[], def: T): T {
    const v = this.get(key);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !options.includes(v as T)) this.fail(`parameter "${key}" must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  strings(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) this.fail(`parameter "${key}" must be a list of column names, got ${JSON.stringify(v)}`);
    return v as string[];
  }

  numbers(key: string, def: number[], opts: { min?: number; int?: boolean; length?: number } = {}): number[] {
    const v = this.get(key);
    if (v === undefined || v === null) return def;
    const list = typeof v === 'number' ? [v] : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) this.fail(`parameter "${key}" must be a list of numbers, got ${JSON.stringify(v)}`);
    const nums = list as number[];
    if (opts.length !== undefined && nums.length !== opts.length) this.fail(`parameter "${key}" must have ${opts.length} numbers, got ${nums.length}`);
    for (const x of nums) {
      if (opts.int && !Number.isInteger(x)) this.fail(`parameter "${key}" must hold integers, got ${x}`);
      if (opts.min !== undefined && x < opts.min) this.fail(`parameter "${key}" values must be at least ${opts.min}, got ${x}`);
    }
    return nums;
  }

  value(key: string): unknown {
    return this.get(key);
  }

  /** Refuse keys no reader asked for. */
  done(): void {
    for (const k of Object.keys(this.raw)) if (!this.used.has(k)) this.fail(`unknown parameter "${k}"`, `known parameters: ${[...this.used].sort().join(', ') || 'none'}`);
  }
}

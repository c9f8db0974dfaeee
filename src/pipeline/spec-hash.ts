// The hash of what decides a pipeline's outputs, recorded in lock files.
import { createHash } from 'node:crypto';
import { isObj } from './spec-fields.js';
import type { PipelineSpec } from './spec-types.js';

/** Hex SHA-256 of what decides a pipeline's outputs, for lock files: equal specs, equal hashes. */
export function specHash(spec: PipelineSpec): string {
  // The image is recorded but never run, and retries, timeouts, parallelism and base_dir change how
  // a job runs, not what it writes: leave them out so editing them does not invalidate lock files.
  const { image: _image, ...transform } = spec.transform;
  const outputs = { transform, input: spec.input, output_branch: spec.output_branch, reprocess_spec: spec.reprocess_spec };
  return createHash('sha256').update(canonicalJson(outputs)).digest('hex');
}

// JSON with object keys sorted at every level; undefined members dropped, as JSON.stringify does.
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

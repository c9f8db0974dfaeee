// Fields that only mean something on a cluster (resources, pod specs, projects, images): accepted
// so that real Pachyderm specs load unchanged, checked for shape, recorded in `ignored` and
// warned about.
import { expected, Fields, invalidAt, isObj, type SpecContext } from './spec-fields.js';

const LOCAL_REASON = 'tusk runs transforms locally';

type Shape = 'object' | 'boolean' | 'string' | 'strings' | 'list' | 'json' | 'duration';
export const CLUSTER_FIELDS: Record<string, Shape> = {
  resource_requests: 'object',
  resource_limits: 'object',
  sidecar_resource_limits: 'object',
  sidecar_resource_requests: 'object',
  autoscaling: 'boolean',
  scheduling_spec: 'object',
  pod_spec: 'json',
  pod_patch: 'json',
  tolerations: 'list',
  metadata: 'object',
  service: 'object',
  datum_set_spec: 'object',
  determined: 'object',
  maximum_expected_uptime: 'duration',
  // Pachyderm 1.x; still in its examples (examples/group/group.json).
  enable_stats: 'boolean',
};
export const CLUSTER_TRANSFORM_FIELDS: Record<string, Shape> = {
  image: 'string',
  image_pull_secrets: 'strings',
  user: 'string',
  dockerfile: 'string',
  memory_volume: 'boolean',
  secrets: 'list',
  debug: 'boolean',
  datum_batching: 'boolean',
};
/** Check the cluster-only fields present and warn about each that asks for something. */
export function recordCluster(fields: Fields, shapes: Record<string, Shape>, ctx: SpecContext, reason = LOCAL_REASON): void {
  for (const f of Object.keys(shapes)) {
    if (!fields.has(f)) continue;
    const v = checkShape(fields, f, shapes[f]);
    // `false`, "" and empty collections ask for nothing: accept them without a warning.
    const asksNothing = v === false || v === '' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
    if (asksNothing) continue;
    const at = fields.path(f);
    ctx.ignored.push(at);
    const why = f === 'enable_stats' ? 'a Pachyderm 1.x field; tusk always keeps datum stats' : reason;
    ctx.warnings.push(`${at} is ignored: ${why}`);
  }
}

function checkShape(fields: Fields, f: string, shape: Shape): unknown {
  switch (shape) {
    case 'object': {
      const v = fields.get(f);
      if (!isObj(v)) throw expected(fields.path(f), 'object', v);
      return v;
    }
    case 'boolean':
      return fields.bool(f);
    case 'string':
      return fields.string(f);
    case 'strings':
      return fields.strings(f);
    case 'list':
      return fields.list(f);
    case 'duration':
      return fields.duration(f);
    case 'json': {
      const s = fields.string(f)!;
      try {
        JSON.parse(s);
      } catch {
        throw invalidAt(fields.path(f), f === 'pod_spec' ? 'malformed PodSpec' : 'malformed PodPatch', 'the value must be a JSON document in a string');
      }
      return s;
    }
  }
}

// Projects are 2.5+; tusk has one namespace, so only a non-default project is worth a warning.
export function ignoreProject(fields: Fields, ctx: SpecContext): void {
  if (!fields.has('project')) return;
  const v = fields.get('project');
  const project = isObj(v) ? Fields.of(v, fields.path('project'), ['name']).string('name') : fields.string('project');
  if (project === undefined || project === '' || project === 'default') return;
  const at = fields.path('project');
  ctx.ignored.push(at);
  ctx.warnings.push(`${at} is ignored: tusk has no projects (${JSON.stringify(project)} is read as the one local namespace)`);
}

// The transform of a spec: the command (or the ML step), its stdin, err_cmd, environment and
// accepted return codes.
import type { TransformSpec } from './spec-types.js';
import { CLUSTER_TRANSFORM_FIELDS, recordCluster } from './spec-cluster.js';
import { expected, invalidAt, isObj, malformed, toInt, typeOf, type Fields, type SpecContext } from './spec-fields.js';

/** The transform: a command or an ML step (not both), with what runs it. */
export function readTransform(t: Fields, ctx: SpecContext): TransformSpec {
  const cmd = t.strings('cmd');
  const hasMl = t.has('ml');
  if (cmd !== undefined && cmd.length > 0 && hasMl) {
    throw invalidAt(t.at, '"cmd" and "ml" are mutually exclusive', 'a transform either runs a command or an in-process ML step');
  }
  if (!hasMl && (cmd === undefined || cmd.length === 0 || cmd[0] === '')) {
    throw invalidAt(t.at, 'invalid pipeline transform, no command specified', 'set "cmd", e.g. ["sh"] with "stdin" lines, or ["python3", "script.py"]');
  }
  const transform: TransformSpec = { cmd: cmd ?? [], env: readEnv(t), accept_return_code: [] };
  if (hasMl) {
    const ml = t.get('ml');
    if (!isObj(ml)) throw expected(t.path('ml'), 'object', ml);
    transform.ml = ml;
  }
  const stdin = t.strings('stdin', true);
  if (stdin !== undefined) transform.stdin = stdin;
  const errCmd = t.strings('err_cmd');
  if (errCmd !== undefined && errCmd.length > 0) transform.err_cmd = errCmd;
  const errStdin = t.strings('err_stdin', true);
  if (errStdin !== undefined) transform.err_stdin = errStdin;
  const codes = t.list('accept_return_code') ?? [];
  transform.accept_return_code = codes.map((c, i) => toInt(c, `${t.path('accept_return_code')}[${i}]`, Number.MIN_SAFE_INTEGER));
  const workingDir = t.string('working_dir');
  if (workingDir) transform.working_dir = workingDir;
  const image = t.string('image');
  if (image) transform.image = image;
  recordCluster(t, CLUSTER_TRANSFORM_FIELDS, ctx);
  return transform;
}

function readEnv(t: Fields): Record<string, string> {
  const env: Record<string, string> = {};
  if (!t.has('env')) return env;
  const v = t.get('env');
  if (!isObj(v)) throw expected(t.path('env'), 'map of strings', v);
  for (const [k, val] of Object.entries(v)) {
    const at = `${t.path('env')}.${k}`;
    if (k === '' || k.includes('=') || k.includes('\0')) throw malformed(`${at}: invalid environment variable name`);
    if (typeof val !== 'string') throw expected(at, 'string', val, `got ${typeOf(val)}; quote the value, e.g. "1"`);
    env[k] = val;
  }
  return env;
}

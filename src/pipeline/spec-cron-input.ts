// A cron input: its name, schedule, tick repo and start time.
import { validateCronSpec } from './cron-spec.js';
import { ignoreProject } from './spec-cluster.js';
import { invalidAt, malformed, rethrowAt, type Fields, type SpecContext } from './spec-fields.js';
import { checkOut, inputNameOk, nameOk } from './spec-names.js';
import type { CronInput } from './spec-types.js';

export const CRON_FIELDS = ['name', 'spec', 'repo', 'overwrite', 'start', 'project'];

/** A cron input; its tick repo defaults to `<pipeline>_<name>`. */
export function readCron(c: Fields, ctx: SpecContext): CronInput {
  const name = c.string('name');
  if (!name) throw invalidAt(c.at, 'input must specify a name', 'add "name": "tick"');
  inputNameOk(name, c.path('name'));
  checkOut(name, c);
  const spec = c.string('spec') ?? '';
  try {
    validateCronSpec(spec);
  } catch (err) {
    rethrowAt(c.path('spec'), err);
  }
  const repo = c.string('repo') || `${ctx.pipeline}_${name}`;
  nameOk('repo', repo, c.has('repo') ? c.path('repo') : c.at);
  const input: CronInput = { kind: 'cron', name, spec, repo, overwrite: c.bool('overwrite') ?? false };
  const start = c.string('start');
  if (start) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(start) || Number.isNaN(Date.parse(start))) {
      throw malformed(`${c.path('start')}: invalid timestamp ${JSON.stringify(start)}`, 'write an RFC 3339 time, e.g. "2024-01-02T15:04:05Z"');
    }
    input.start = start;
  }
  ignoreProject(c, ctx);
  return input;
}

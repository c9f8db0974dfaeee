// What the team store's watch and log tests share: a pipeline whose first job waits for a runner,
// and a wait (on the server) until a command listens for change notifications.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { expectOk, runTusk, type RunOptions } from './cli-helpers.js';

/** One session of the database for `fn`, ended after it. */
export async function withAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Wait (polling the server, in the test only) until `count` connections of the database listen for changes. */
export async function untilListening(url: string, running: { done: Promise<unknown> }, count = 1): Promise<void> {
  let exited = false;
  void running.done.then(() => (exited = true));
  await withAdmin(url, async (c) => {
    for (let i = 0; i < 2400; i++) {
      const n = Number((await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'")).rows[0].n);
      if (n >= count) return;
      if (exited) throw new Error('the command ended before it listened for changes');
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no connection of the command listened for changes within 60 s');
  });
}

/**
 * Repo `src` with a.txt and b.txt, and pipeline `up` over `/*` running `script` in `sh -c`; with no
 * runner its first job is created and waits. Returns that job's id. `mk` makes a scratch directory.
 */
export async function pipelineWithJob(opts: RunOptions, script: string, mk: () => string): Promise<string> {
  const src = mk();
  fs.writeFileSync(path.join(src, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(src, 'b.txt'), 'bravo\n');
  expectOk(await runTusk(['create', 'repo', 'src'], opts));
  expectOk(await runTusk(['put', 'file', '-r', 'src@master:/', '-f', src], opts));
  const spec = path.join(mk(), 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ pipeline: { name: 'up' }, input: { pfs: { repo: 'src', glob: '/*' } }, transform: { cmd: ['sh', '-c', script] } }));
  expectOk(await runTusk(['create', 'pipeline', '-f', spec], opts));
  const [job] = expectOk(await runTusk(['list', 'job', '-p', 'up', '--json'], opts)).json<{ id: string; state: string }[]>();
  expect(job!.state).toBe('JOB_CREATED');
  return job!.id;
}

// A job on a team store reads its datums' inputs from packs in a bucket: the records and chunk
// places of a claimed batch's inputs are looked up together, a few statements per batch, not a
// few per datum. Every statement is a round trip to a server that shares the workers' cores.
import * as fs from 'node:fs';
import * as path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { initTeam, openTeam } from '../../../src/app/team-store.js';
import { registerTransform, runPendingJobs } from '../../../src/pipeline/job-runner.js';
import { createPipelines } from '../../../src/pipeline/pipeline-service.js';
import type { DatumContext, TransformResult } from '../../../src/pipeline/transform.js';
import { streamOf, tempDir } from '../../helpers.js';
import { usePostgres } from '../../helpers/postgres.js';

const server = usePostgres();
const skip = server.missing !== undefined;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** What each datum of a `lookups-` pipeline found in its input file, by the file's path. */
const seen = new Map<string, string>();
registerTransform((spec) =>
  spec.name.startsWith('lookups-')
    ? {
        protectsInputs: true,
        async run(ctx: DatumContext): Promise<TransformResult> {
          const file = ctx.env.in!;
          seen.set(file, fs.readFileSync(path.join(ctx.pfsDir, file.slice('/pfs'.length)), 'utf8'));
          return { ok: true, exitCode: 0, signal: null, timedOut: false };
        },
      }
    : undefined,
);

const DATUMS = 64;

describe.skipIf(skip).sequential(`a job's input lookups on a team store${skip ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('are made per claimed batch, not per datum, and every datum still sees its own input', async () => {
    const work = tempDir('tusk-team-lookups-');
    dirs.push(work);
    const url = await server.freshDatabase();
    const dir = path.join(work, '.tusk');
    await initTeam(dir, url, { url: `file://${path.join(work, 'objects')}` });
    const { store } = await openTeam({ dir, url });
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const s = store.handle;
      await store.createRepo('in');
      const name = (i: number) => `/f${String(i).padStart(2, '0')}`;
      await store.putFiles({ repo: 'in', branch: 'master' }, Array.from({ length: DATUMS }, (_, i) => ({ kind: 'stream' as const, stream: streamOf(`row ${i}\n`), repoPath: name(i) })));
      await createPipelines(s, JSON.stringify({ pipeline: { name: 'lookups-p' }, input: { pfs: { repo: 'in', glob: '/*' } }, transform: { cmd: ['true'] }, parallelism_spec: { constant: 1 } }), { baseDir: work });

      sent.mockClear();
      await runPendingJobs(s, { runner: 'r1' });
      const texts = sent.mock.calls.map(([q]) => (typeof q === 'string' ? q : ((q as { text?: string }).text ?? '')));
      const [job] = await s.jobs.jobsOf('lookups-p');
      expect(job!.state).toBe('JOB_SUCCESS');
      expect(job!.processed).toBe(DATUMS);
      for (let i = 0; i < DATUMS; i++) expect(seen.get(`/pfs/in${name(i)}`)).toBe(`row ${i}\n`);

      // the claims (one statement each) and the lookups of content records and chunk places
      const claims = texts.filter((t) => /WITH expired AS/.test(t)).length;
      const lookups = texts.filter((t) => /FROM contents|FROM chunks/.test(t)).length;
      expect(claims).toBeGreaterThan(0);
      expect(claims).toBeLessThan(DATUMS / 4);
      expect(lookups).toBeLessThanOrEqual(2 * claims);
    } finally {
      sent.mockRestore();
      store.close();
      await store.core.whenClosed();
    }
  });
});

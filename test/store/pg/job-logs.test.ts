// Job logs in a team store's database: batches land whole and in the order each writer made them,
// writers of one job never leave a reader behind a line it skipped, a reader holds a page at a
// time, and a job's or a pipeline's lines go with its records.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredLogLine } from '../../../src/store/job-logs.js';
import { PgMetadata } from '../../../src/store/pg/metadata.js';
import { usePostgres } from '../../helpers/postgres.js';

const server = usePostgres();
const metas: PgMetadata[] = [];
afterEach(async () => {
  for (const m of metas.splice(0)) await m.close();
});

async function openMeta(): Promise<PgMetadata> {
  const m = await PgMetadata.open({ url: await server.freshDatabase() });
  metas.push(m);
  return m;
}

const line = (datum: string, message: string, stream: StoredLogLine['stream'] = 'stdout'): StoredLogLine => ({ ts: new Date().toISOString(), datum, stream, message });

/** Every line of a job's log, read page by page; how many pages it took. */
async function readAll(m: PgMetadata, pipeline: string, job: string): Promise<{ lines: StoredLogLine[]; pages: number }> {
  const cursor = m.logs.cursor(pipeline, job);
  const lines: StoredLogLine[] = [];
  let pages = 0;
  for (let more = true; more; ) {
    const r = await cursor.read();
    pages++;
    lines.push(...r.lines);
    more = r.more;
  }
  return { lines, pages };
}

describe.skipIf(server.missing !== undefined)(`job logs in PostgreSQL${server.missing ? ` (skipped: ${server.missing})` : ''}`, () => {
  it('reads back what was appended, in order, a page at a time, and goes on from where it stopped', async () => {
    const m = await openMeta();
    const log = m.logs.appender('p', 'j');
    const written = Array.from({ length: 2500 }, (_, i) => line(`d${i % 3}`, `message ${i} ✓`, i % 5 === 0 ? 'stderr' : 'stdout'));
    for (const l of written) log.append(l);
    await log.close();
    const { lines, pages } = await readAll(m, 'p', 'j');
    expect(lines).toEqual(written);
    // three pages of at most 1000 lines, and the empty read that says the end was reached
    expect(pages).toBeGreaterThanOrEqual(3);
    // another job's log is apart, and one never written reads as empty
    expect((await m.logs.cursor('p', 'other').read()).lines).toEqual([]);
    // a cursor at the end sees what is appended later, and only that
    const cursor = m.logs.cursor('p', 'j');
    while ((await cursor.read()).more);
    const more = m.logs.appender('p', 'j');
    more.append(line('d9', 'late'));
    await more.close();
    expect((await cursor.read()).lines.map((l) => l.message)).toEqual(['late']);
  });

  it('three writers of one job: a reader following them never skips a line committed behind it', async () => {
    const m = await openMeta();
    // three machines' runners on one job, each with its own connections
    const others = [await PgMetadata.open({ url: m.target.url }), await PgMetadata.open({ url: m.target.url })];
    metas.push(...others);
    const W = 3;
    const N = 400;
    const writers = [m, ...others].map((x, w) => ({ w, log: x.logs.appender('p', 'j') }));
    const cursor = m.logs.cursor('p', 'j');
    const seen: string[] = [];
    let writing = true;
    const reading = (async () => {
      while (writing) seen.push(...(await cursor.read()).lines.map((l) => label(l.message)));
    })();
    // long lines: batches of 64 KiB, whose INSERTs take long enough to overlap
    const pad = ' '.padEnd(2000, '.');
    const label = (message: string) => message.slice(0, message.length - pad.length);
    for (let i = 0; i < N; i++) {
      for (const { w, log } of writers) log.append(line(`d${w}`, `w${w} ${i}${pad}`));
      // let batches go out while the reader reads
      if (i % 40 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(writers.map(({ log }) => log.close()));
    writing = false;
    await reading;
    for (let more = true; more; ) {
      const r = await cursor.read();
      seen.push(...r.lines.map((l) => label(l.message)));
      more = r.more || r.lines.length > 0;
    }
    expect(seen.length).toBe(W * N);
    expect(new Set(seen).size).toBe(W * N);
    // each writer's lines in the order it wrote them
    for (let w = 0; w < W; w++) expect(seen.filter((s) => s.startsWith(`w${w} `))).toEqual(Array.from({ length: N }, (_, i) => `w${w} ${i}`));
  });

  it("a job's lines go with the job, a pipeline's with the pipeline, in the unit that deletes them", async () => {
    const m = await openMeta();
    for (const [p, j] of [['p', 'a'], ['p', 'b'], ['q', 'c']] as const) {
      await m.unitOfWork(({ jobs }) => jobs.insertJob(p, j, 1, 's'));
      const log = m.logs.appender(p, j);
      log.append(line('d', `${p}@${j}`));
      await log.close();
    }
    await m.unitOfWork(({ jobs }) => jobs.deleteJob('p', 'a'));
    expect((await readAll(m, 'p', 'a')).lines).toEqual([]);
    expect((await readAll(m, 'p', 'b')).lines.map((l) => l.message)).toEqual(['p@b']);
    // a unit that fails deletes nothing
    await expect(
      m.unitOfWork(async ({ jobs }) => {
        await jobs.deletePipeline('p');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await readAll(m, 'p', 'b')).lines.map((l) => l.message)).toEqual(['p@b']);
    await m.unitOfWork(({ jobs }) => jobs.deletePipeline('p'));
    expect((await readAll(m, 'p', 'b')).lines).toEqual([]);
    expect((await readAll(m, 'q', 'c')).lines.map((l) => l.message)).toEqual(['q@c']);
  });

  it('a write the server refuses is not lost silently: closing the log rejects with it', async () => {
    const m = await openMeta();
    const log = m.logs.appender('p', 'j');
    await m.pool.query('DROP TABLE job_logs');
    log.append(line('d', 'lost'));
    await expect(log.close()).rejects.toThrow(/job_logs/);
  });
});

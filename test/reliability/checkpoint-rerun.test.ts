// A unit's body may run twice (a network database retries it; TUSK_TEST_UNIT_RERUN=1 makes SQLite
// do so here). The rows a put records at a checkpoint must then be recorded by the second run too:
// a writer that forgot them during the first run committed a put whose chunks had no rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBack, seededBytes, tempStores } from '../helpers.js';

const MiB = 1024 * 1024;
const newStore = tempStores();

let saved: string | undefined;
beforeAll(() => {
  saved = process.env.TUSK_TEST_UNIT_RERUN;
  process.env.TUSK_TEST_UNIT_RERUN = '1';
});
afterAll(() => {
  if (saved === undefined) delete process.env.TUSK_TEST_UNIT_RERUN;
  else process.env.TUSK_TEST_UNIT_RERUN = saved;
});

function chunkRows(store: ReturnType<typeof newStore>): number {
  return (store.core.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
}

describe('checkpoints under a rerun unit of work', () => {
  it('a big file put that checkpoints keeps every chunk row; fsck and get pass', async () => {
    const store = newStore();
    await store.createRepo('r');
    const data = seededBytes(24 * MiB, 11);
    async function* body() {
      for (let pos = 0; pos < data.length; pos += MiB) yield Buffer.from(data.subarray(pos, pos + MiB));
    }
    const r = await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: Readable.from(body()), repoPath: '/big' }], { checkpointRows: 8 });
    expect(chunkRows(store)).toBe(r.newChunks);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
    expect((await readBack(store, { repo: 'r', branch: 'master', path: '/big' })).equals(data)).toBe(true);
  });

  it('a tree put that checkpoints keeps every chunk row; fsck and get pass', async () => {
    const store = newStore();
    await store.createRepo('r');
    const dir = fs.mkdtempSync(path.join(store.core.path, '..', 'tree-'));
    const files = Array.from({ length: 12 }, (_, i) => seededBytes(300 * 1024 + i, 100 + i));
    files.forEach((b, i) => fs.writeFileSync(path.join(dir, `f${i}.bin`), b));
    const r = await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: dir, repoPath: '/t', recursive: true }], { checkpointRows: 4 });
    expect(chunkRows(store)).toBe(r.newChunks);
    expect((await store.fsck({ verifyData: true })).ok).toBe(true);
    for (let i = 0; i < files.length; i++) expect((await readBack(store, { repo: 'r', branch: 'master', path: `/t/f${i}.bin` })).equals(files[i]!)).toBe(true);
  });
});

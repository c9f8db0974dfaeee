// Versions of a table stored as deltas (docs/format.md, "Deltas"): each new version of a file costs
// its edits, every version reads back byte for byte (whole and by range), chains stay bounded, gc
// keeps the bases a kept chunk needs, and fsck finds a damaged or orphaned delta.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { MAX_CHAIN } from '../../src/store/delta-store.js';
import { Codec, RECORD_HEADER_BYTES } from '../../src/store/pack-format.js';
import type { LocalStore as Store } from '../../src/store/store.js';
import { readBack, streamOf, tempStores } from '../helpers.js';
import { tableVersions } from './table-versions.js';

const put = (store: Store, data: Buffer, p = '/t.csv') => store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: p }]);

/** Bytes [offset, offset + length) of r@commit:/t.csv through getFile's range read. */
async function readRangeOf(store: Store, commit: string, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  await store.getFile(parseFileRef(`r@${commit}:/t.csv`), { offset, length, stdout: sink });
  return Buffer.concat(parts);
}

const deltaCount = (store: Store) => store.core.db.prepare(`SELECT COUNT(*) FROM chunks WHERE codec = ${Codec.Delta}`).pluck().get() as number;

describe('versions of a table as deltas', () => {
  const newStore = tempStores();
  // 13 versions: more than one chain's worth, so a keyframe is made
  const versions = tableVersions(3 << 20, MAX_CHAIN + 3);

  it('each later version costs a small share of its size, and every version reads back whole and by range', async () => {
    const store = newStore();
    await store.createRepo('r');
    const commits: string[] = [];
    const stored: number[] = [];
    for (const v of versions) {
      const r = await put(store, v);
      commits.push(r.commit);
      stored.push(r.storedBytes);
    }
    // the first version is stored on its own (compressed), the next ones against their parent
    expect(stored[0]!).toBeGreaterThan(versions[0]!.length * 0.1);
    for (let i = 1; i <= MAX_CHAIN; i++) expect(stored[i]!, `version ${i + 1}`).toBeLessThan(versions[i]!.length * 0.03);
    // chains never grow past MAX_CHAIN: the version past it is a keyframe (stored whole again)
    const depths = store.core.db.prepare('SELECT MAX(depth) FROM chunk_deltas').pluck().get() as number;
    expect(depths).toBe(MAX_CHAIN);
    expect(stored[MAX_CHAIN + 1]!).toBeGreaterThan(versions[0]!.length * 0.1);
    expect(stored[MAX_CHAIN + 2]!).toBeLessThan(versions[0]!.length * 0.03);

    for (const [i, c] of commits.entries()) expect((await readBack(store, parseFileRef(`r@${c}:/t.csv`))).equals(versions[i]!), `version ${i + 1}`).toBe(true);

    // random ranges: inside a chunk, across chunk boundaries, running past the end, past the end
    let x = 12345;
    const rnd = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
    for (let k = 0; k < 40; k++) {
      const i = rnd(versions.length);
      const v = versions[i]!;
      const offset = k === 0 ? v.length + 10 : rnd(v.length);
      const length = k % 3 === 0 ? 1 << 20 : rnd(300_000);
      const got = await readRangeOf(store, commits[i]!, offset, length);
      expect(got.equals(v.subarray(offset, offset + length)), `version ${i + 1} [${offset}, +${length})`).toBe(true);
    }
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
  });

  it('only a new version of the same path is stored against the old one; small files never are', async () => {
    const store = newStore();
    await store.createRepo('r');
    await put(store, versions[0]!, '/a.csv');
    await put(store, versions[1]!, '/b.csv');
    expect(deltaCount(store)).toBe(0);
    await put(store, Buffer.from('id\n1\n'), '/small.csv');
    await put(store, Buffer.from('id\n2\n'), '/small.csv');
    expect(deltaCount(store)).toBe(0);
    await put(store, versions[2]!, '/a.csv');
    expect(deltaCount(store)).toBeGreaterThan(0);
    expect((await readBack(store, parseFileRef('r@master:/a.csv'))).equals(versions[2]!)).toBe(true);
  });

  it('a file replaced by unrelated bytes is stored as new bytes, and reads back', async () => {
    const store = newStore();
    await store.createRepo('r');
    await put(store, versions[0]!);
    const other = tableVersions(3 << 20, 1, 99)[0]!;
    const r = await put(store, other);
    expect(deltaCount(store)).toBe(0);
    expect(r.storedBytes).toBeGreaterThan(other.length * 0.1);
    expect((await readBack(store, parseFileRef('r@master:/t.csv'))).equals(other)).toBe(true);
  });

  it('gc keeps the bases a kept chunk is stored against, and drops them once nothing needs them', async () => {
    const store = newStore();
    await store.createRepo('r');
    const first = await put(store, versions[0]!);
    await put(store, versions[1]!);
    const v3 = await put(store, versions[2]!);
    expect(deltaCount(store)).toBeGreaterThan(0);
    // squashing the first two commits leaves no commit that holds versions 1 and 2, whose chunks
    // version 3's deltas are stored against
    await store.squashCommit(parseFileRef(`r@${first.commit}`));
    const chunksBefore = store.core.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number;
    const squashed = await store.listCommits({ repo: 'r' });
    expect(squashed.length).toBe(2);
    await store.squashCommit(parseFileRef(`r@${squashed[squashed.length - 1]!.id}`));
    expect((await store.listCommits({ repo: 'r' })).map((c) => c.id)).toEqual([v3.commit]);
    await store.gc({ waitMs: 0 });
    // chunks of versions 1 and 2 that no delta needs may go; every base a kept delta needs stays
    expect(store.core.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number).toBeLessThanOrEqual(chunksBefore);
    expect(store.core.db.prepare('SELECT COUNT(*) FROM chunk_deltas d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = d.base)').pluck().get()).toBe(0);
    expect((await readBack(store, parseFileRef('r@master:/t.csv'))).equals(versions[2]!)).toBe(true);
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);

    // once the file is gone, its chunks and their whole chain go, delta rows with them
    await store.deleteFiles(parseFileRef('r@master:/t.csv'));
    await store.squashCommit(parseFileRef(`r@${v3.commit}`));
    await store.gc({ waitMs: 0 });
    expect(store.core.db.prepare('SELECT COUNT(*) FROM chunks').pluck().get()).toBe(0);
    expect(store.core.db.prepare('SELECT COUNT(*) FROM chunk_deltas').pluck().get()).toBe(0);
    expect((await store.fsck({ verifyData: true })).problems).toEqual([]);
  });

  it('fsck finds a damaged delta and a delta whose base is gone, and reads name the file', async () => {
    const store = newStore();
    await store.createRepo('r');
    await put(store, versions[0]!);
    const v2 = await put(store, versions[1]!);
    const row = store.core.db
      .prepare(`SELECT c.id, c.offset, c.stored_len AS storedLen, p.name FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.codec = ${Codec.Delta} ORDER BY c.offset LIMIT 1`)
      .get() as { id: Buffer; offset: number; storedLen: number; name: string };
    const pack = path.join(store.core.path, 'packs', row.name.slice(0, 2), `${row.name}.pack`);
    // flip a byte near the end of the zstd frame, past the base ids
    const at = row.offset + RECORD_HEADER_BYTES + row.storedLen - 3;
    const fd = fs.openSync(pack, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x5a;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const problems = (await store.fsck({ verifyData: true })).problems;
    expect(problems.some((p) => p.subject === `chunk ${row.id.toString('hex').slice(0, 16)}`)).toBe(true);
    expect(problems.some((p) => p.subject === `r@${v2.commit}:/t.csv`)).toBe(true);
    await expect(readBack(store, parseFileRef('r@master:/t.csv'))).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('/t.csv') });
    // the first version does not depend on the damaged chunk
    expect(problems.some((p) => p.subject.endsWith(':/t.csv') && !p.subject.includes(v2.commit))).toBe(false);

    // a base that vanished from the index is found without reading a byte
    const base = store.core.db.prepare('SELECT base FROM chunk_deltas ORDER BY id LIMIT 1').pluck().get() as Buffer;
    store.core.db.prepare('DELETE FROM chunks WHERE id = ?').run(base);
    const shallow = (await store.fsck()).problems;
    expect(shallow.some((p) => p.problem.includes(`base chunk ${base.toString('hex').slice(0, 16)}, which is missing`))).toBe(true);
  });
});

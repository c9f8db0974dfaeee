// A datum output written as "an existing content followed by new bytes" (a predictions file that
// only grew) must be stored exactly as a put of the whole file would store it: the same
// content-defined cuts, the same chunk list, the same content id. `put file -a` instead keeps the
// earlier chunks whole and starts a chunk at the old end (so that a concurrent append can be
// replayed on a newer head, put-rebase.ts), with the same content id. Content records are keyed by
// content id, so the whole put is made in a store of its own: one store would hold one record
// for both.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFileRef } from '../../src/store/address.js';
import { readContent } from '../../src/store/content-io.js';
import { writeLocalTree } from '../../src/store/file-service.js';
import { lookupPath } from '../../src/store/file-tree.js';
import { fromHex, type ContentId, type NodeId } from '../../src/store/hash.js';
import { allBytes, damageChunk, seededBytes, streamOf, tempStores } from '../helpers.js';

describe('appending to a stored content', () => {
  const newStore = tempStores();

  /** Chunk ids (hex) and content id of a file in r@master. */
  const stored = async (store: ReturnType<typeof newStore>, p: string) => {
    const id = fromHex((await store.inspectFile(parseFileRef(`r@master:${p}`))).hash) as ContentId;
    const rec = (await store.core.index.getContent(id))!;
    return { id: id.toString('hex'), size: rec.size, chunks: rec.chunks.map((c) => c.toString('hex')) };
  };

  /** The record a put of `data` as a whole makes, in a store of its own. */
  const wholePut = async (data: Buffer) => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(data), repoPath: '/whole' }]);
    return stored(store, '/whole');
  };

  // bases: one chunk (below the minimum chunk size), several chunks; tails: one byte, several chunks
  const cases = [
    { name: 'several chunks + a few bytes', base: 3 << 20, tail: 7 },
    { name: 'several chunks + several chunks', base: 3 << 20, tail: (1 << 20) + 12345 },
    { name: 'one chunk + several chunks', base: 20_000, tail: 2 << 20 },
  ];

  /** The record of `base` + `tail` stored as a datum output: the earlier content plus a tail file. */
  const asAppendedOutput = async (store: ReturnType<typeof newStore>, tail: Buffer) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-append-'));
    try {
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(dir, 'tail'), tail);
      const r = await writeLocalTree(store.core, out, {
        datum: 'd1',
        appended: [{ path: '/appended', base: fromHex((await stored(store, '/base')).id) as ContentId, tail: path.join(dir, 'tail') }],
        beforeCommit: async () => {},
      });
      const e = (await lookupPath(store.core.reader, r.root!, '/appended'))!;
      const rec = (await store.core.index.getContent(e.id as ContentId))!;
      return { id: e.id.toString('hex'), size: rec.size, chunks: rec.chunks.map((c) => c.toString('hex')) };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  for (const c of cases)
    it(`an appended output cuts as a whole put does (${c.name})`, async () => {
      const store = newStore();
      await store.createRepo('r');
      const base = seededBytes(c.base, 1);
      const tail = seededBytes(c.tail, 2);
      await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
      const appended = await asAppendedOutput(store, tail);
      const whole = await wholePut(Buffer.concat([base, tail]));
      expect(whole.chunks.length).toBeGreaterThan(1);
      expect(appended).toEqual(whole);
    });

  it('put file -a keeps the earlier chunks whole and has the id of a whole put', async () => {
    const store = newStore();
    await store.createRepo('r');
    const base = seededBytes(3 << 20, 1);
    const tail = seededBytes((1 << 20) + 12345, 2);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/appended' }]);
    const before = await stored(store, '/appended');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(tail), repoPath: '/appended' }], { append: true });
    const after = await stored(store, '/appended');
    const whole = await wholePut(Buffer.concat([base, tail]));
    expect(after.id).toBe(whole.id);
    expect(after.size).toBe(base.length + tail.length);
    expect(after.chunks.slice(0, before.chunks.length)).toEqual(before.chunks);
    const back = await allBytes(readContent(store.core.index, store.core.packs, fromHex(after.id) as ContentId, { describe: () => 'back' }));
    expect(back.equals(Buffer.concat([base, tail]))).toBe(true);
  });

  it('a datum output given as an earlier content plus a tail file is the whole put, byte for byte', async () => {
    const store = newStore();
    await store.createRepo('r');
    const base = seededBytes(3 << 20, 3);
    const tail = seededBytes(700_000, 4);
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(base), repoPath: '/base' }]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-append-'));
    try {
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(out, 'other.txt'), 'written whole\n');
      fs.writeFileSync(path.join(dir, 'tail'), tail);
      let recorded: NodeId | null | undefined;
      const r = await writeLocalTree(store.core, out, {
        datum: 'd1',
        appended: [{ path: '/sub/predictions.csv', base: fromHex((await stored(store, '/base')).id) as ContentId, tail: path.join(dir, 'tail') }],
        beforeCommit: async (root) => {
          recorded = root;
        },
      });
      expect(r.root).toEqual(recorded);
      expect(r.files).toBe(2);
      const e = (await lookupPath(store.core.reader, r.root!, '/sub/predictions.csv'))!;
      expect(e.datum).toBe('d1');
      const whole = await wholePut(Buffer.concat([base, tail]));
      expect(e.id.toString('hex')).toBe(whole.id);
      expect((await store.core.index.getContent(e.id as ContentId))!.chunks.map((c) => c.toString('hex'))).toEqual(whole.chunks);
      expect(await lookupPath(store.core.reader, r.root!, '/other.txt')).toBeDefined();
      const back = await allBytes(readContent(store.core.index, store.core.packs, e.id as ContentId, { describe: () => 'back' }));
      expect(back.equals(Buffer.concat([base, tail]))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a damaged chunk of the earlier content fails the append with E_CORRUPT and changes nothing', async () => {
    const store = newStore();
    await store.createRepo('r');
    await store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf(seededBytes(3 << 20, 5)), repoPath: '/f' }]);
    const before = await stored(store, '/f');
    // a chunk the append keeps: its bytes are still read, and checked, for the new whole-file id
    await damageChunk(store, fromHex(before.chunks[1]!) as never);
    const commits = (await store.listCommits({ repo: 'r', all: true })).length;
    await expect(store.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', stream: streamOf('more\n'), repoPath: '/f' }], { append: true })).rejects.toMatchObject({ code: 'E_CORRUPT' });
    expect((await store.listCommits({ repo: 'r', all: true })).length).toBe(commits);
    expect(await stored(store, '/f')).toEqual(before);
  });
});

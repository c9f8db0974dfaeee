// The two-thread path for big files must store exactly what the single-threaded path stores:
// the same cuts, the same chunk ids, the same content ids, and read back the same verified bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TuskError } from '../../src/errors.js';
import type { ContentRecord } from '../../src/store/chunk-index.js';
import { ContentWriter, readContent, type ContentSink } from '../../src/store/content-io.js';
import type { ContentId } from '../../src/store/hash.js';
import { hasNativeCopy } from '../../src/store/native-io.js';
import type { LocalPackStorage } from '../../src/store/pack-storage.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import { PARALLEL_MIN_BYTES, ParallelContentWriter } from '../../src/store/parallel-content.js';
import type { LocalCore, StoreCore } from '../../src/store/store-core.js';
import { contentWorker, type WorkerLink } from '../../src/store/worker-link.js';
import { allBytes, readBack, seededBytes, tempStores } from '../helpers.js';
import { inputs, SIZES } from './content-inputs.js';
import { commitContent } from './write-content.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const ctx = { describe: () => 'r@master:/big' };

const store = tempStores();

function link(): WorkerLink {
  const l = contentWorker();
  // the worker runs from dist/, which the test set-up builds
  expect(l, 'the content worker starts').not.toBeNull();
  return l!;
}

/** One file through a content writer, committed the way putFiles commits it. */
async function writeWith(core: StoreCore, make: (w: PackWriter) => ContentSink, feed: (sink: ContentSink) => Promise<void>): Promise<ContentRecord> {
  return (await commitContent(core, make, feed)).rec;
}

/** Push copies of `data` in blocks of `n` bytes (the writer copies them into its own blocks). */
const pushCopies = (data: Buffer, n: number) => async (sink: ContentSink) => {
  for (let i = 0; i < data.length; i += n) await sink.push(Buffer.from(data.subarray(i, i + n)));
};

/** Fill the writer's own buffers, as ingestLocal reads a file into them. */
const fillBuffers = (data: Buffer, n: number) => async (sink: ContentSink) => {
  for (let i = 0; i < data.length; ) {
    const b = await sink.buffer(Math.min(n, data.length - i));
    const len = b.length; // push() may hand the buffer to the worker, leaving b empty
    data.copy(b, 0, i, i + len);
    await sink.push(b);
    i += len;
  }
};

const hexOf = (rec: ContentRecord) => ({ id: rec.id.toString('hex'), size: rec.size, chunks: rec.chunks.map((c) => c.toString('hex')) });

describe('ParallelContentWriter', () => {
  it('stores the same chunks and content id as ContentWriter, whatever the sizes and block splits', async () => {
    const core = store().core;
    const l = link();
    for (const size of SIZES) {
      for (const [kind, data] of inputs(size, size % 89)) {
        const single = await writeWith(core, (w) => new ContentWriter(w), pushCopies(data, 4 * MiB));
        for (const [how, feed] of [
          ['copies of 1 MiB', pushCopies(data, MiB)],
          ['copies of 100,001 bytes', pushCopies(data, 100_001)],
          ['its own buffers', fillBuffers(data, 4 * MiB)],
          ['its own buffers, 3 MiB reads', fillBuffers(data, 3 * MiB)],
        ] as const) {
          const parallel = await writeWith(core, (w) => new ParallelContentWriter(w, l), feed);
          expect(hexOf(parallel), `${kind} ${size}, ${how}`).toEqual(hexOf(single));
        }
      }
    }
  });

  it('compresses exactly the chunks the single-threaded writer compresses (the worker runs the probe)', async () => {
    const codecs = (core: LocalCore) => core.db.prepare('SELECT hex(id) AS id, codec, stored_len AS stored FROM chunks ORDER BY id').all();
    const mixed = Buffer.concat(inputs(3 * MiB, 4).map(([, data]) => data));
    const one = store().core;
    const two = store().core;
    await writeWith(one, (w) => new ContentWriter(w), pushCopies(mixed, 4 * MiB));
    await writeWith(two, (w) => new ParallelContentWriter(w, link()), fillBuffers(mixed, 4 * MiB));
    expect(codecs(two)).toEqual(codecs(one));
    expect(codecs(one).some((c) => (c as { codec: number }).codec === 1)).toBe(true);
  });

  it('pins the content id of a big seeded file (format drift shows here)', async () => {
    const core = store().core;
    const data = seededBytes(PARALLEL_MIN_BYTES + 5 * MiB + 3, 42);
    const rec = await writeWith(core, (w) => new ParallelContentWriter(w, link()), fillBuffers(data, 4 * MiB));
    const single = await writeWith(core, (w) => new ContentWriter(w), pushCopies(data, 4 * MiB));
    expect(hexOf(rec)).toEqual(hexOf(single));
    // GOLDEN: computed by the single-threaded writer before the parallel path existed
    expect(rec.id.toString('hex')).toBe('2a928a3689ef016e5396bae6f4eddff91edf9045f2d217b997b8f7c8a4656379');
    expect(rec.chunks.length).toBe(145);
    expect(rec.chunks[0]!.toString('hex')).toBe('670745bec400ea5e15e6db9cd0e59917e4a64294dad479df1336a1bea5179626');
    expect(rec.chunks[144]!.toString('hex')).toBe('612f336dc9909c9016445a0d0e07bffae3d1a4c67ef7dda1dec299c8285e04fd');
  });

  // Kept as a view each, the ids held the worker's replies (a copy of each reply's buffer) to the
  // commit: ~490 bytes a chunk, a put's memory growing with its size.
  it("keeps a big file's chunk ids packed in one buffer, not views of the worker's replies", async () => {
    const core = store().core;
    const data = seededBytes(PARALLEL_MIN_BYTES + 5 * MiB + 3, 42);
    const rec = await writeWith(core, (w) => new ParallelContentWriter(w, link()), fillBuffers(data, 4 * MiB));
    expect(new Set(rec.chunks.map((c) => c.buffer)).size).toBe(1);
    expect(rec.packed?.length).toBe(145 * 32);
    expect(Buffer.concat(rec.chunks).equals(rec.packed!)).toBe(true);
    // the list as stored reads back as the same ids
    expect((await core.index.getContent(rec.id))!.chunks.map((c) => c.toString('hex'))).toEqual(rec.chunks.map((c) => c.toString('hex')));
  });

  it('can be abandoned mid-file, and the next file is unaffected', async () => {
    const core = store().core;
    const l = link();
    const data = seededBytes(9 * MiB, 8);
    const owner = `test-abort-${process.pid}`;
    await core.index.addWriter(owner);
    const writer = new PackWriter(core.index, core.packs, owner);
    const w = new ParallelContentWriter(writer, l);
    await fillBuffers(data.subarray(0, 6 * MiB), MiB)(w);
    w.abort();
    await writer.close(true);
    const again = await writeWith(core, (pw) => new ParallelContentWriter(pw, l), fillBuffers(data, 4 * MiB));
    expect(hexOf(again)).toEqual(hexOf(await writeWith(core, (pw) => new ContentWriter(pw), pushCopies(data, MiB))));
  });
});

describe('reading big files on two threads', () => {
  const big = seededBytes(PARALLEL_MIN_BYTES + 3 * MiB + 1234, 77);

  async function putBig(s: ReturnType<typeof store>, p: string, data: Buffer) {
    if (!(await s.core.graph.getRepo('r'))) await s.createRepo('r');
    await s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'stream', repoPath: p, stream: (async function* () { for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536); })() as unknown as NodeJS.ReadableStream }]);
    const [info] = await s.listFiles({ repo: 'r', branch: 'master', path: p });
    return info!.hash;
  }

  it('puts a stream and a local file with the single-threaded ids, and gets them back byte for byte', async () => {
    const s = store();
    const hash = await putBig(s, '/big', big);
    const single = await writeWith(s.core, (w) => new ContentWriter(w), pushCopies(big, 4 * MiB));
    expect(hash).toBe(single.id.toString('hex'));
    expect((await readBack(s, { repo: 'r', branch: 'master', path: '/big' })).equals(big)).toBe(true);

    const local = path.join(path.dirname(s.core.path), 'big.bin');
    fs.writeFileSync(local, big);
    await s.putFiles({ repo: 'r', branch: 'master' }, [{ kind: 'local', localPath: local, repoPath: '/local', recursive: false }]);
    expect((await s.listFiles({ repo: 'r', branch: 'master', path: '/local' }))[0]!.hash).toBe(hash);
    const out = path.join(path.dirname(s.core.path), 'out.bin');
    await s.getFile({ repo: 'r', branch: 'master', path: '/local' }, { output: out });
    expect(fs.readFileSync(out).equals(big)).toBe(true);

    // an offset skips bytes, still verified as a whole
    for (const at of [5 * MiB + 17, 1, 4 * MiB, big.length - 10]) {
      const tail = await allBytes(readContent(s.core.index, s.core.packs, single.id as ContentId, ctx, at));
      expect(tail.equals(big.subarray(at)), `readContent from ${at}`).toBe(true);
      await s.getFile({ repo: 'r', branch: 'master', path: '/local' }, { output: out, offset: at });
      expect(fs.readFileSync(out).equals(big.subarray(at)), `get -o from ${at}`).toBe(true);
    }
  });

  it('reads compressible chunks (zstd) back too', async () => {
    const s = store();
    const text = inputs(PARALLEL_MIN_BYTES + MiB, 5).find(([kind]) => kind === 'text')![1];
    const hash = await putBig(s, '/text', text);
    expect(s.core.db.prepare('SELECT count(*) FROM chunks WHERE codec = 1').pluck().get()).toBeGreaterThan(0);
    expect((await allBytes(readContent(s.core.index, s.core.packs, Buffer.from(hash, 'hex') as ContentId, ctx))).equals(text)).toBe(true);
  });

  // The same damage must be caught every way a big file is read: the generator, which checks
  // every chunk before it yields it, and a get into a file, which writes first, checks the whole
  // file and then names the damage — with the native copy loop (a run whose record headers are
  // not the expected ones is read the careful way; a whole-file hash that does not match sends
  // the file to the worker) and on the worker alone (which reads runs and starts one that does
  // not check out over the careful way). A get that fails leaves neither the file nor a temp file.
  const getInto = (s: ReturnType<typeof store>) => async () => {
    const dir = path.join(path.dirname(s.core.path), 'out');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    try {
      await s.getFile({ repo: 'r', branch: 'master', path: '/big' }, { output: path.join(dir, 'big') });
    } finally {
      expect(fs.readdirSync(dir), 'nothing is left behind by a failed get').toEqual(fs.existsSync(path.join(dir, 'big')) ? ['big'] : []);
    }
  };
  const readers: [string, (s: ReturnType<typeof store>, id: ContentId) => Promise<unknown>][] = [
    ['readContent', async (s, id) => {
      for await (const _ of readContent(s.core.index, s.core.packs, id, ctx)) void _;
    }],
    ['get -o', (s) => getInto(s)()],
    ['get -o on the worker', (s) => withoutNativeIo(getInto(s))],
  ];
  const failure = async (read: () => Promise<unknown>) => {
    try {
      await read();
    } catch (e) {
      return e as TuskError;
    }
    return undefined;
  };

  it.each(readers)('%s: fails with E_CORRUPT, naming the file, when a chunk of a big file is damaged', async (_, read) => {
    const s = store();
    const hash = await putBig(s, '/big', big);
    const row = s.core.db.prepare('SELECT p.name, c.offset, c.stored_len AS len FROM chunks c JOIN packs p ON p.id = c.pack ORDER BY c.offset LIMIT 1 OFFSET 50').get() as { name: string; offset: number; len: number };
    const file = path.join(s.core.path, 'packs', row.name.slice(0, 2), `${row.name}.pack`);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, row.offset + 48 + (row.len >> 1));
    fs.closeSync(fd);
    const err = await failure(() => read(s, Buffer.from(hash, 'hex') as ContentId));
    expect(err?.code).toBe('E_CORRUPT');
    expect(err?.message).toMatch(/^(r@master:\/big|file \/big in r@master=)/);
    expect(err?.message).toContain(`in pack ${row.name} does not match its id`);
  });

  it.each(readers)('%s: fails with E_CORRUPT naming the damage when a record header or a whole pack of a big file is bad', async (_, read) => {
    const s = store();
    const hash = await putBig(s, '/big', big);
    const id = Buffer.from(hash, 'hex') as ContentId;
    const rows = s.core.db.prepare('SELECT p.name, c.offset FROM chunks c JOIN packs p ON p.id = c.pack ORDER BY p.name, c.offset').all() as { name: string; offset: number }[];
    const fileOf = (name: string) => path.join(s.core.path, 'packs', name.slice(0, 2), `${name}.pack`);
    const fd = fs.openSync(fileOf(rows[40]!.name), 'r+');
    fs.writeSync(fd, Buffer.from([0x00]), 0, 1, rows[40]!.offset + 20); // inside the id in the header
    fs.closeSync(fd);
    let err = await failure(() => read(s, id));
    expect(err?.code).toBe('E_CORRUPT');
    expect(err?.message).toContain(`pack ${rows[40]!.name} has a damaged record at offset ${rows[40]!.offset}`);
    fs.rmSync(fileOf(rows[0]!.name));
    s.core.packs.close(); // drop the open descriptor, as a new process would not have one
    err = await failure(() => read(s, id));
    expect(err?.code).toBe('E_CORRUPT');
    expect(err?.message).toContain(`pack ${rows[0]!.name} is missing`);
  });

  it.each(readers)('%s: fails with E_CORRUPT when a big file’s chunk list is not its content', async (_, read) => {
    const s = store();
    const hash = await putBig(s, '/big', big);
    const id = Buffer.from(hash, 'hex');
    const rec = (await s.core.index.getContent(id as ContentId))!;
    // swap two chunks: every chunk verifies and the sizes add up, only the whole-file hash can tell
    const swapped = [...rec.chunks];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    s.core.db.prepare('UPDATE contents SET chunks = ? WHERE id = ?').run(Buffer.concat(swapped), id);
    const err = await failure(() => read(s, id as ContentId));
    expect(err?.code).toBe('E_CORRUPT');
    expect(err?.message).toContain('content does not match its id');
  });

  it('get -o writes compressed chunks byte for byte, and reads a run that does not check out chunk by chunk', async () => {
    const s = store();
    const text = inputs(PARALLEL_MIN_BYTES + MiB, 5).find(([kind]) => kind === 'text')![1];
    await putBig(s, '/big', text);
    const out = path.join(path.dirname(s.core.path), 'text.out');
    await s.getFile({ repo: 'r', branch: 'master', path: '/big' }, { output: out });
    expect(fs.readFileSync(out).equals(text)).toBe(true);
    // one run reads as zeros (as after a gc move between the lookup and the read): its records
    // are read again one by one, the careful way, and the file comes out right
    const packs = s.core.packs.local!;
    const realReadInto = packs.readInto.bind(packs);
    let calls = 0;
    packs.readInto = (name: string, offset: number, dest: Uint8Array) => {
      realReadInto(name, offset, dest);
      if (++calls === 2) dest.fill(0);
    };
    try {
      fs.rmSync(out);
      // the worker's path: the native copy loop reads runs in C (its own test is below)
      await withoutNativeIo(() => s.getFile({ repo: 'r', branch: 'master', path: '/big' }, { output: out }));
    } finally {
      packs.readInto = realReadInto;
    }
    expect(calls).toBeGreaterThan(3);
    expect(fs.readFileSync(out).equals(text)).toBe(true);
  });

  it.runIf(hasNativeCopy())('get -o with the native copy loop: a run it cannot take as it is goes chunk by chunk, and the file comes out right', async () => {
    const s = store();
    const text = inputs(PARALLEL_MIN_BYTES + MiB, 5).find(([kind]) => kind === 'text')![1];
    await putBig(s, '/big', big);
    await putBig(s, '/text', text);
    const out = path.join(path.dirname(s.core.path), 'native.out');
    const packs = s.core.packs as LocalPackStorage;
    const realFdOf = packs.fdOf.bind(packs);
    const asked: string[] = [];
    // every other run is read from a file of zeros (as if gc had rewritten its pack after the
    // lookup): its record headers are not the expected ones
    const decoy = fs.openSync(path.join(path.dirname(s.core.path), 'decoy'), 'w+');
    fs.ftruncateSync(decoy, 128 * MiB);
    packs.fdOf = (name: string) => {
      asked.push(name);
      return asked.length % 2 === 0 ? decoy : realFdOf(name);
    };
    // what is read in JavaScript: single records (chunk by chunk), not whole runs (the worker's
    // path, taken only when the whole-file hash does not match)
    const realReadInto = packs.readInto.bind(packs);
    let biggest = 0;
    packs.readInto = (name: string, offset: number, dest: Uint8Array) => {
      biggest = Math.max(biggest, dest.length);
      realReadInto(name, offset, dest);
    };
    try {
      for (const [p, data] of [['/big', big], ['/text', text]] as const) {
        asked.length = 0;
        biggest = 0;
        fs.rmSync(out, { force: true });
        await s.getFile({ repo: 'r', branch: 'master', path: p }, { output: out });
        expect(fs.readFileSync(out).equals(data), p).toBe(true);
        expect(biggest, `${p}: chunks read one by one`).toBeGreaterThan(0);
        expect(biggest, `${p}: chunks read one by one`).toBeLessThan(MiB);
        if (p === '/big') expect(asked.length, 'the native loop took the runs').toBeGreaterThan(2);
      }
    } finally {
      packs.fdOf = realFdOf;
      packs.readInto = realReadInto;
      fs.closeSync(decoy);
    }
    // and the plain case, for the record
    fs.rmSync(out);
    await s.getFile({ repo: 'r', branch: 'master', path: '/big' }, { output: out });
    expect(fs.readFileSync(out).equals(big)).toBe(true);
  });
});

/** Run `f` with the native addon turned off (TUSK_NO_NATIVE_IO is read at every use). */
async function withoutNativeIo<T>(f: () => Promise<T>): Promise<T> {
  const before = process.env.TUSK_NO_NATIVE_IO;
  process.env.TUSK_NO_NATIVE_IO = '1';
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.TUSK_NO_NATIVE_IO;
    else process.env.TUSK_NO_NATIVE_IO = before;
  }
}

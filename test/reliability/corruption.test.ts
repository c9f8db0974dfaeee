// Corruption: single flipped bytes anywhere in the packs (headers, zstd and raw payloads, garbage,
// the pack magic), truncated and deleted packs, and damaged SQLite rows, each in a copy of one
// store. For every case:
//   - every file whose bytes are affected fails to read with E_CORRUPT naming repo, commit and
//     path (never wrong bytes), in every commit that holds it;
//   - every other file still reads back byte-identical;
//   - `fsck --verify-data` lists exactly the damaged subjects: the chunk / pack / page, and every
//     repo@commit:/path that depends on it; nothing else.
// The flip run reports its detection rate (must be 100% of flips inside committed records).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitIds } from '../../src/store/chunk-index.js';
import { collectBatches, walkTree } from '../../src/store/file-tree.js';
import type { NodeId } from '../../src/store/hash.js';
import { RECORD_HEADER_BYTES } from '../../src/store/pack-format.js';
import type { LocalStore as Store } from '../../src/store/store.js';
import { runTusk } from '../cli/cli-helpers.js';
import { initStore } from '../../src/store/store.js';
import { readBack, seededBytes, tempDir } from '../helpers.js';
import { cloneDir, open, recordFigures, scaled, sha256, textBytes } from './rel-helpers.js';

const FLIPS = scaled(150, 1500);
const KiB = 1024;

let work: string;
let original: string;

/** Every file of every commit, and what the store's rows say about chunks, contents and pages. */
interface Model {
  files: { repo: string; commit: string; path: string; contentId: string; sha: string; chunks: Set<string> }[];
  chunks: { id: string; pack: string; offset: number; end: number; codec: number }[];
  packs: { name: string; size: number }[];
  /** content id → one file that holds it */
  byContent: Map<string, Model['files'][number]>;
  /** page id → the `repo@commit:/dir` subjects whose trees contain it */
  pageSubjects: Map<string, Set<string>>;
}

let model: Model;

/** One commit holding `files`. */
async function put(s: Store, repo: string, files: Record<string, Buffer>, branch = 'master'): Promise<string> {
  const sources = Object.entries(files).map(([repoPath, data]) => ({
    kind: 'stream' as const,
    repoPath,
    stream: (async function* () {
      yield data;
    })() as unknown as NodeJS.ReadableStream,
  }));
  return (await s.putFiles({ repo, branch }, sources)).commit;
}

/** Where a pack of the model lives in the copy `dir`. */
const packFile = (dir: string, name: string) => path.join(dir, '.tusk', 'packs', name.slice(0, 2), `${name}.pack`);

async function buildStore(dir: string): Promise<void> {
  initStore(dir);
  const s = open(dir);
  try {
    await s.createRepo('a');
    await s.createRepo('b');
    const big = Buffer.concat([seededBytes(700 * KiB, 1), textBytes(900 * KiB, 2), seededBytes(300 * KiB, 3)]);
    const smalls: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) smalls[`/small/s${i}`] = i % 2 ? textBytes(200 + i * 811, 100 + i) : seededBytes(100 + i * 613, 100 + i);
    await put(s, 'a', { '/big/z.bin': big, ...smalls });
    // garbage: a dropped commit's unique chunks stay in the pack (not collected)
    const doomed = await put(s, 'a', { '/doomed.bin': seededBytes(200 * KiB, 50) });
    await s.deleteCommit({ repo: 'a', commit: doomed });
    // a second commit: one small file changed, a text file grown, the big file shared by both
    await put(s, 'a', { '/small/s3': textBytes(5000, 999), '/text.txt': textBytes(300 * KiB, 7) });
    await put(s, 'b', { '/copy-of-z.bin': big, '/own.bin': seededBytes(150 * KiB, 8), '/nested/deep/t.txt': textBytes(40 * KiB, 9) });
    await put(s, 'b', { '/more.bin': textBytes(100 * KiB, 10) }, 'dev');
    expect((await s.fsck({ verifyData: true })).problems).toEqual([]);
  } finally {
    s.close();
  }
}

async function buildModel(dir: string): Promise<Model> {
  const s = open(dir, { readonly: true });
  try {
    const db = s.core.db;
    const packs = db.prepare('SELECT id, name, size FROM packs').all() as { id: number; name: string; size: number }[];
    const packName = new Map(packs.map((p) => [p.id, p.name]));
    const chunks = (db.prepare('SELECT id, pack, offset, stored_len AS storedLen, codec FROM chunks').all() as { id: Buffer; pack: number; offset: number; storedLen: number; codec: number }[]).map((c) => ({
      id: c.id.toString('hex'),
      pack: packName.get(c.pack)!,
      offset: c.offset,
      end: c.offset + RECORD_HEADER_BYTES + c.storedLen,
      codec: c.codec,
    }));
    const files: Model['files'] = [];
    const byContent = new Map<string, Model['files'][number]>();
    const pageSubjects = new Map<string, Set<string>>();
    for await (const c of s.core.graph.iterateAllCommits()) {
      if (!c.root) continue;
      // pages: every page under every directory, with the directory it belongs to
      const pagesOf = async (dirId: NodeId, where: string) => {
        const stack: Buffer[] = [dirId];
        while (stack.length) {
          const id = stack.pop()!;
          const key = id.toString('hex');
          if (!pageSubjects.has(key)) pageSubjects.set(key, new Set());
          pageSubjects.get(key)!.add(`${c.repo}@${c.id}:${where}`);
          const page = await s.core.reader.read(id as NodeId);
          if (page.level > 0) for (const r of (page as { children: { id: Buffer }[] }).children) stack.push(r.id);
        }
      };
      await pagesOf(c.root, '/');
      for (const pe of await collectBatches(walkTree(s.core.reader, c.root, '/'))) {
        if (pe.entry.kind === 'dir') {
          await pagesOf(pe.entry.id as NodeId, pe.path);
          continue;
        }
        const cid = pe.entry.id.toString('hex');
        const rec = (await s.core.index.getContent(pe.entry.id as never))!;
        const bytes = await readBack(s, { repo: c.repo, commit: c.id, path: pe.path });
        const f = { repo: c.repo, commit: c.id, path: pe.path, contentId: cid, sha: sha256(bytes), chunks: new Set(rec.chunks.map((x) => x.toString('hex'))) };
        files.push(f);
        if (!byContent.has(cid)) byContent.set(cid, f);
      }
    }
    return { files, chunks, packs, byContent, pageSubjects };
  } finally {
    s.close();
  }
}

type Outcome = { ok: boolean; why: string[] };

/**
 * Read every file: those in `damaged` (a predicate) must fail with E_CORRUPT naming repo, commit
 * and path; every other distinct content must read back identical. Then fsck --verify-data must
 * list exactly `expected`.
 */
async function checkDamage(s: Store, damaged: (f: Model['files'][number]) => boolean, expected: Set<string>): Promise<Outcome> {
  const why: string[] = [];
  const readOk = new Set<string>();
  for (const f of model.files) {
    const hurt = damaged(f);
    if (!hurt && readOk.has(f.contentId)) continue;
    let got: Buffer | null = null;
    let err: (Error & { code?: string }) | null = null;
    try {
      got = await readBack(s, { repo: f.repo, commit: f.commit, path: f.path });
    } catch (e) {
      err = e as Error & { code?: string };
    }
    const where = `${f.repo}@${f.commit}:${f.path}`;
    if (hurt) {
      if (got) why.push(`${where}: read ${sha256(got) === f.sha ? 'the right' : 'WRONG'} bytes instead of failing`);
      else if (err!.code !== 'E_CORRUPT') why.push(`${where}: failed with ${err!.code ?? err!.name}: ${err!.message}`);
      else if (![f.repo, f.commit, f.path].every((x) => err!.message.includes(x))) why.push(`${where}: error does not name repo, commit and path: ${err!.message}`);
    } else if (!got) why.push(`${where}: unaffected, but failed: ${err!.message}`);
    else if (sha256(got) !== f.sha) why.push(`${where}: WRONG BYTES`);
    else readOk.add(f.contentId);
  }
  const subjects = new Set((await s.fsck({ verifyData: true })).problems.map((p) => p.subject));
  const missing = [...expected].filter((x) => !subjects.has(x));
  const extra = [...subjects].filter((x) => !expected.has(x));
  if (missing.length) why.push(`fsck missed ${missing.join(', ')}`);
  if (extra.length) why.push(`fsck also listed ${extra.join(', ')}`);
  return { ok: why.length === 0, why };
}

/** fsck subjects for damage to these chunks: the chunks themselves and every file using them. */
function chunkSubjects(ids: Set<string>, opts: { listChunks?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  if (opts.listChunks !== false) for (const id of ids) out.add(`chunk ${id.slice(0, 16)}`);
  for (const f of model.files) if ([...f.chunks].some((c) => ids.has(c))) out.add(`${f.repo}@${f.commit}:${f.path}`);
  return out;
}

const usesAny = (ids: Set<string>) => (f: Model['files'][number]) => [...f.chunks].some((c) => ids.has(c));

beforeAll(async () => {
  work = tempDir('tusk-corrupt-');
  original = path.join(work, 'original');
  fs.mkdirSync(original);
  await buildStore(original);
  model = await buildModel(original);
  expect(model.chunks.some((c) => c.codec === 1)).toBe(true); // some zstd payloads
  expect(model.chunks.some((c) => c.codec === 0)).toBe(true); // some raw ones
}, 120_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('corruption: flipped bytes in packs', () => {
  it(`${FLIPS} random single-byte flips: every flip inside a committed record is detected, no wrong bytes ever`, async () => {
    const dir = path.join(work, 'flips');
    cloneDir(original, dir);
    // a crashed writer's tail past the committed end of one pack: flips there must be harmless
    fs.appendFileSync(packFile(dir, model.packs[0]!.name), seededBytes(4 * KiB, 77));
    const s = open(dir);
    const regions: Record<string, { flips: number; detected: number; harmless: number }> = {};
    const failures: string[] = [];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    try {
      for (let i = 0; i < FLIPS; i++) {
        // where: anywhere in a pack file (35%), its magic (3%), the uncommitted tail (2%), a record
        // header (30%), a zstd payload (15%), a raw payload (15%)
        const roll = rand(100);
        let pack: Model['packs'][number];
        let at: number;
        if (roll < 40) {
          pack = model.packs[rand(model.packs.length)]!;
          const size = fs.statSync(packFile(dir, pack.name)).size;
          at = roll < 35 ? rand(size) : roll < 38 ? rand(8) : pack.size + rand(Math.max(1, size - pack.size));
          if (at >= size) at = rand(size);
        } else {
          const pool = roll < 70 ? model.chunks : model.chunks.filter((c) => c.codec === (roll < 85 ? 1 : 0));
          const c = pool[rand(pool.length)]!;
          pack = model.packs.find((p) => p.name === c.pack)!;
          at = roll < 70 ? c.offset + rand(RECORD_HEADER_BYTES) : c.offset + RECORD_HEADER_BYTES + rand(c.end - c.offset - RECORD_HEADER_BYTES);
        }
        const hit = model.chunks.find((c) => c.pack === pack.name && at >= c.offset && at < c.end);
        const region = at < 8 ? 'pack magic' : !hit ? (at >= pack.size ? 'uncommitted tail' : 'outside records') : at - hit.offset < RECORD_HEADER_BYTES ? 'record header' : hit.codec === 1 ? 'zstd payload' : 'raw payload';
        const fd = fs.openSync(packFile(dir, pack.name), 'r+');
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, at);
        const orig = b[0]!;
        b[0] = orig ^ (1 + rand(255));
        fs.writeSync(fd, b, 0, 1, at);
        fs.fsyncSync(fd);
        let outcome: Outcome;
        try {
          if (hit) {
            const ids = new Set([hit.id]);
            outcome = await checkDamage(s, usesAny(ids), chunkSubjects(ids));
          } else if (region === 'pack magic') {
            outcome = await checkDamage(s, () => false, new Set([`pack ${pack.name}`]));
          } else outcome = await checkDamage(s, () => false, new Set());
        } finally {
          b[0] = orig;
          fs.writeSync(fd, b, 0, 1, at);
          fs.closeSync(fd);
        }
        const r = (regions[region] ??= { flips: 0, detected: 0, harmless: 0 });
        r.flips++;
        if (hit || region === 'pack magic') {
          if (outcome.ok) r.detected++; // reads failed exactly where they must, fsck listed exactly that
        } else if (outcome.ok) r.harmless++; // every read still right, fsck clean
        if (!outcome.ok) failures.push(`flip #${i} at ${pack.name}+${at} (${region}${hit ? ` of chunk ${hit.id.slice(0, 16)}` : ''}): ${outcome.why.join('; ')}`);
      }
      // "must detect": flips inside committed records (header or payload of a chunk the index knows)
      const inRecords = ['record header', 'zstd payload', 'raw payload'];
      const mustDetect = inRecords.reduce((n, k) => n + (regions[k]?.flips ?? 0), 0);
      const detected = inRecords.reduce((n, k) => n + (regions[k]?.detected ?? 0), 0);
      recordFigures('corruption-flips', { flips: FLIPS, mustDetect, detected, detectionRate: +(detected / mustDetect).toFixed(4), regions, failures: failures.length });
      expect(failures.slice(0, 10)).toEqual([]);
      expect((await s.fsck({ verifyData: true })).problems).toEqual([]); // every byte was restored
    } finally {
      s.close();
    }
  }, 600_000);
});

describe('corruption: truncated and deleted packs', () => {
  it('a truncated pack: the files with chunks past the cut fail, fsck lists pack, chunks and files (with and without --verify-data)', async () => {
    const dir = path.join(work, 'trunc');
    cloneDir(original, dir);
    const pack = model.packs.reduce((a, b) => (a.size > b.size ? a : b));
    const inPack = model.chunks.filter((c) => c.pack === pack.name).sort((x, y) => x.offset - y.offset);
    // cut in the middle of a record about two thirds in
    const victim = inPack[Math.floor(inPack.length * 0.66)]!;
    const cut = victim.offset + 20;
    fs.truncateSync(packFile(dir, pack.name), cut);
    const lost = new Set(inPack.filter((c) => c.end > cut).map((c) => c.id));
    const expected = chunkSubjects(lost);
    expected.add(`pack ${pack.name}`);
    const s = open(dir);
    try {
      const outcome = await checkDamage(s, usesAny(lost), expected);
      expect(outcome.why).toEqual([]);
      // without --verify-data too: the on-disk sizes alone show what is lost
      expect(new Set((await s.fsck()).problems.map((p) => p.subject))).toEqual(expected);
    } finally {
      s.close();
    }
  });

  it('a deleted pack: everything in it fails, everything else reads; fsck lists the pack, its chunks and their files', async () => {
    const dir = path.join(work, 'deleted');
    cloneDir(original, dir);
    const pack = model.packs.reduce((a, b) => (a.size > b.size ? a : b));
    fs.rmSync(packFile(dir, pack.name));
    const lost = new Set(model.chunks.filter((c) => c.pack === pack.name).map((c) => c.id));
    const expected = chunkSubjects(lost);
    expected.add(`pack ${pack.name}`);
    const s = open(dir);
    try {
      const outcome = await checkDamage(s, usesAny(lost), expected);
      expect(outcome.why).toEqual([]);
      expect(new Set((await s.fsck()).problems.map((p) => p.subject))).toEqual(expected);
    } finally {
      s.close();
    }
  });

  it('through the CLI: get file exits 5 naming the file, fsck --verify-data --json lists the damage, list still works', async () => {
    const dir = path.join(work, 'cli');
    cloneDir(original, dir);
    const c = model.chunks.find((x) => x.codec === 1)!;
    const pack = model.packs.find((p) => p.name === c.pack)!;
    const fd = fs.openSync(packFile(dir, pack.name), 'r+');
    const b = Buffer.alloc(1);
    const at = c.offset + RECORD_HEADER_BYTES + 5;
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);
    const victim = model.files.find((f) => f.chunks.has(c.id))!;
    const get = await runTusk(['get', 'file', `${victim.repo}@${victim.commit}:${victim.path}`, '-o', path.join(work, 'out.bin'), '--json'], { cwd: dir });
    expect(get.code, get.describe()).toBe(5);
    const err = get.json().error;
    expect(err.code).toBe('E_CORRUPT');
    for (const x of [victim.repo, victim.commit, victim.path]) expect(err.message).toContain(x);
    expect(fs.existsSync(path.join(work, 'out.bin'))).toBe(false); // no half file left behind
    const fsck = await runTusk(['fsck', '--verify-data', '--json'], { cwd: dir });
    expect(fsck.code, fsck.describe()).toBe(5);
    expect(new Set(fsck.json().error.details.problems.map((p: { subject: string }) => p.subject))).toEqual(chunkSubjects(new Set([c.id])));
    const list = await runTusk(['list', 'file', `${victim.repo}@${victim.commit}:/`, '--json'], { cwd: dir });
    expect(list.code, list.describe()).toBe(0);
  });
});

describe('corruption: damaged SQLite rows', () => {
  /** Run `sql` against a fresh copy, then check reads and fsck. */
  const rowCase = async (name: string, sql: (db: Store['core']['db']) => void, damaged: (f: Model['files'][number]) => boolean, expected: Set<string>) => {
    const dir = path.join(work, `row-${name.replace(/\W+/g, '-')}`);
    cloneDir(original, dir);
    const s = open(dir);
    try {
      sql(s.core.db);
      s.close();
      const t = open(dir); // a fresh open: no cached pages
      try {
        const outcome = await checkDamage(t, damaged, expected);
        expect(outcome.why, name).toEqual([]);
      } finally {
        t.close();
      }
    } finally {
      if (s.core.db.open) s.close();
    }
  };
  const multi = () => model.byContent.get([...model.byContent.keys()].find((k) => model.byContent.get(k)!.chunks.size > 2)!)!;
  const zstdChunk = () => model.chunks.find((c) => c.codec === 1 && model.files.some((f) => f.chunks.has(c.id)))!;
  const rawChunk = () => model.chunks.find((c) => c.codec === 0 && model.files.some((f) => f.chunks.has(c.id)))!;
  const blob = (hex: string) => Buffer.from(hex, 'hex');

  it('chunks: a wrong offset, stored length or codec, or a deleted row', async () => {
    const z = zstdChunk();
    const r = rawChunk();
    await rowCase('chunk offset', (db) => db.prepare('UPDATE chunks SET offset = offset + 1 WHERE id = ?').run(blob(r.id)), usesAny(new Set([r.id])), chunkSubjects(new Set([r.id])));
    await rowCase('chunk stored_len', (db) => db.prepare('UPDATE chunks SET stored_len = stored_len - 3 WHERE id = ?').run(blob(z.id)), usesAny(new Set([z.id])), chunkSubjects(new Set([z.id])));
    await rowCase('chunk codec', (db) => db.prepare('UPDATE chunks SET codec = 0 WHERE id = ?').run(blob(z.id)), usesAny(new Set([z.id])), chunkSubjects(new Set([z.id])));
    // a missing row: there is no chunk to name, only the files that need it
    await rowCase('chunk deleted', (db) => db.prepare('DELETE FROM chunks WHERE id = ?').run(blob(r.id)), usesAny(new Set([r.id])), chunkSubjects(new Set([r.id]), { listChunks: false }));
  });

  it('contents: a reordered chunk list, a wrong size, a deleted row', async () => {
    const f = multi();
    const sameContent = (g: Model['files'][number]) => g.contentId === f.contentId;
    const subjects = new Set(model.files.filter(sameContent).map((g) => `${g.repo}@${g.commit}:${g.path}`));
    await rowCase(
      'contents reordered',
      (db) => {
        const ids = splitIds(db.prepare('SELECT chunks FROM contents WHERE id = ?').pluck().get(blob(f.contentId)) as Buffer);
        [ids[0], ids[1]] = [ids[1]!, ids[0]!];
        db.prepare('UPDATE contents SET chunks = ? WHERE id = ?').run(Buffer.concat(ids), blob(f.contentId));
      },
      sameContent,
      subjects,
    );
    await rowCase('contents size', (db) => db.prepare('UPDATE contents SET size = size + 1 WHERE id = ?').run(blob(f.contentId)), sameContent, subjects);
    await rowCase('contents deleted', (db) => db.prepare('DELETE FROM contents WHERE id = ?').run(blob(f.contentId)), sameContent, subjects);
  });

  it('packs: a committed size too small: reads stay verified, fsck lists what lies past it, and the next put does not cut it off', async () => {
    const dir = path.join(work, 'row-pack-size');
    cloneDir(original, dir);
    const pack = model.packs.reduce((a, b) => (a.size > b.size ? a : b));
    const inPack = model.chunks.filter((c) => c.pack === pack.name).sort((x, y) => x.offset - y.offset);
    const cut = inPack[Math.floor(inPack.length / 2)]!.offset;
    const past = new Set(inPack.filter((c) => c.end > cut).map((c) => c.id));
    const s = open(dir);
    try {
      s.core.db.prepare('UPDATE packs SET size = ? WHERE name = ?').run(cut, pack.name);
      const expected = chunkSubjects(past);
      // the bytes are all there and verified: reads return them; fsck reports the inconsistency
      expect((await checkDamage(s, () => false, expected)).why).toEqual([]);
      // a writer claiming that pack would truncate it to the recorded size: it must not
      const extra = seededBytes(200 * KiB, 4242);
      const newCommit = await put(s, 'a', { '/after.bin': extra });
      expect((await readBack(s, { repo: 'a', branch: 'master', path: '/after.bin' })).equals(extra)).toBe(true);
      expect(fs.statSync(packFile(dir, pack.name)).size).toBe(pack.size);
      for (const f of model.files) expect(sha256(await readBack(s, { repo: f.repo, commit: f.commit, path: f.path })), f.path).toBe(f.sha);
      // fsck: the same list, plus the new commit's files that share the chunks past the recorded end
      const subjects = (await s.fsck({ verifyData: true })).problems.map((p) => p.subject);
      expect(subjects.filter((x) => !x.startsWith(`a@${newCommit}:`)).sort()).toEqual([...expected].sort());
    } finally {
      s.close();
    }
  });

  it('nodes: a flipped byte in a directory page, a deleted page; commits: a wrong root', async () => {
    // the page of /small in repo a: shared by both commits of a
    const dirFile = model.files.find((f) => f.repo === 'a' && f.path.startsWith('/small/'))!;
    const s = open(original, { readonly: true });
    let pageId: string;
    try {
      const c = (await s.core.graph.getCommit('a', dirFile.commit))!;
      const e = (await collectBatches(walkTree(s.core.reader, c.root!, '/'))).find((pe) => pe.path === '/small')!;
      pageId = e.entry.id.toString('hex');
    } finally {
      s.close();
    }
    const under = (f: Model['files'][number]) => model.pageSubjects.get(pageId)!.has(`${f.repo}@${f.commit}:/small`) && f.path.startsWith('/small/');
    const subjects = model.pageSubjects.get(pageId)!;
    await rowCase(
      'node flipped',
      (db) => {
        const data = db.prepare('SELECT data FROM nodes WHERE id = ?').pluck().get(blob(pageId)) as Buffer;
        data[Math.floor(data.length / 2)] ^= 0x10;
        db.prepare('UPDATE nodes SET data = ? WHERE id = ?').run(data, blob(pageId));
      },
      under,
      subjects,
    );
    await rowCase('node deleted', (db) => db.prepare('DELETE FROM nodes WHERE id = ?').run(blob(pageId)), under, subjects);
    const bHead = model.files.find((f) => f.repo === 'b' && f.path === '/own.bin')!;
    await rowCase(
      'commit root',
      (db) => db.prepare('UPDATE commits SET root = ? WHERE repo = ? AND id = ?').run(Buffer.alloc(32, 7), 'b', bHead.commit),
      (f) => f.repo === 'b' && f.commit === bHead.commit,
      new Set([`b@${bHead.commit}:/`]),
    );
  });
});

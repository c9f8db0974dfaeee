import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FormatVersionError, type TuskError } from '../../src/errors.js';
import { isOwnerAlive, WRITER_LEASE_MS } from '../../src/store/chunk-index.js';
import { hashBytes, type ChunkId } from '../../src/store/hash.js';
import { SqliteJobRecords } from '../../src/store/job-records.js';
import { FORMAT_VERSION, openDb } from '../../src/store/meta-db.js';
import { PACK_MAGIC, PACK_TARGET_BYTES, RECORD_HEADER_BYTES } from '../../src/store/pack-format.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import { openStore } from '../../src/store/store.js';
import type { LocalCore } from '../../src/store/store-core.js';
import { seededBytes, tempDir, tempStore } from '../helpers.js';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const d = tempDir();
  cleanups.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function store(): LocalCore {
  const env = tempStore();
  cleanups.push(env.cleanup);
  return env.store.core;
}

function thrown(fn: () => unknown): TuskError {
  try {
    fn();
  } catch (err) {
    return err as TuskError;
  }
  throw new Error('expected an error');
}

/** The pid of a process that has run and exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  expect(r.status).toBe(0);
  expect(r.pid).toBeGreaterThan(0);
  return r.pid!;
}

const HOUR = 3_600_000;

/** Undo migration 12 on a fresh meta.db, for tests that start from an older format. */
const BEFORE_FORMAT_12 = 'DROP INDEX datums_by_hash; ALTER TABLE datums DROP COLUMN reused; CREATE INDEX datums_by_hash ON datums(pipeline, id, hash)';

/** This process's open file descriptors on `file` (Linux /proc; empty elsewhere). */
function openHandles(file: string): string[] {
  if (!fs.existsSync('/proc/self/fd')) return [];
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file)) out.push(fd);
    } catch {
      // the fd used to read the directory itself is gone by now
    }
  }
  return out;
}

describe('meta.db', () => {
  it('a fresh store is at FORMAT_VERSION, in WAL mode, with every table', () => {
    const core = store();
    expect(FORMAT_VERSION).toBe(12);
    expect(core.db.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(core.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(core.db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = core.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual([
      'branch_provenance',
      'branches',
      'chunk_cache',
      'chunk_deltas',
      'chunks',
      'commit_provenance',
      'commits',
      'content_states',
      'contents',
      'cron_ticks',
      'datum_attempts',
      'datums',
      'file_cache',
      'jobs',
      'nodes',
      'packs',
      'pipelines',
      'profiles',
      'remote_chunks',
      'repos',
      'settings',
      'writers',
    ]);
  });

  it('creates at FORMAT_VERSION; reopening (writable or read-only) keeps version and data', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    expect(db.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    db.prepare("INSERT INTO settings (key, value) VALUES ('k', 'v')").run();
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT value FROM settings WHERE key = ?').pluck().get('k')).toBe('v');
    again.close();
    const ro = openDb(file, { readonly: true, create: false });
    expect(ro.prepare('SELECT value FROM settings WHERE key = ?').pluck().get('k')).toBe('v');
    ro.close();
  });

  it('refuses a store written by a newer tusk (E_FORMAT, "upgrade tusk"), writable or read-only', () => {
    const d = dir();
    const file = path.join(d, 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.pragma(`user_version = ${FORMAT_VERSION + 1}`);
    db.close();
    for (const readonly of [false, true]) {
      const err = thrown(() => openDb(file, { readonly, create: false }));
      expect(err).toBeInstanceOf(FormatVersionError);
      expect(err.code).toBe('E_FORMAT');
      expect(err.message).toBe(`this store uses format version ${FORMAT_VERSION + 1}, but this tusk understands only up to ${FORMAT_VERSION}`);
      expect(`${err.message}\n${err.hint}`).toContain('upgrade tusk');
    }
    // the refused opens left no connection (file handle) behind
    expect(openHandles(file)).toEqual([]);
    // the refused opens changed nothing: user_version sits at offset 60 of the SQLite header
    const header = fs.readFileSync(file).subarray(60, 64); // SQLite header: user_version at offset 60
    expect(header.readUInt32BE(0)).toBe(FORMAT_VERSION + 1);
  });

  it('refuses a newer store through openStore too', () => {
    const env = tempStore();
    const storePath = env.store.path;
    cleanups.push(env.cleanup);
    env.store.core.db.pragma(`user_version = ${FORMAT_VERSION + 1}`);
    expect(thrown(() => openStore({ path: storePath })).code).toBe('E_FORMAT');
  });

  it('migrates a format-2 store (before cron ticks) forward, keeping its data', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    // what tusk at format 2 left: everything but migration 3
    db.exec('DROP TABLE cron_ticks; DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO settings (key, value) VALUES ('k', 'v')").run();
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT value FROM settings WHERE key = ?').pluck().get('k')).toBe('v');
    again.prepare("INSERT INTO cron_ticks (pipeline, input, last_tick) VALUES ('p', 'tick', 1)").run();
    again.close();
  });

  it('migrates a format-3 store (a file-cache row per file) to segments per directory, dropping the old cache', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    // what tusk at format 3 left: the file cache a row per file
    db.exec('DROP TABLE file_cache; DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.exec('CREATE TABLE file_cache (path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL, ctime REAL NOT NULL, content BLOB NOT NULL) WITHOUT ROWID');
    db.prepare('INSERT INTO file_cache VALUES (?, 1, 2, 3, 4, 5, ?)').run('/data/a.txt', Buffer.alloc(32));
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 3');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('file_cache')).toEqual(['dir', 'seq', 'entries']);
    expect(again.prepare('SELECT count(*) FROM file_cache').pluck().get()).toBe(0);
    again.close();
  });

  it('migrates a format-4 store: the datum identity index no longer holds the state, results still found', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP INDEX datums_by_hash; CREATE INDEX datums_by_hash ON datums(pipeline, id, hash, state); DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.prepare("INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, finished) VALUES ('p', 'j1', 'd', 0, 'h', 'success', '[]', 5)").run();
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 4');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').pluck().all('datums_by_hash')).toEqual(['pipeline', 'id', 'hash']);
    const plan = again.prepare("EXPLAIN QUERY PLAN SELECT * FROM datums WHERE pipeline = 'p' AND id = 'd' AND hash = 'h' AND reused = 0 AND state = 'success'").all() as { detail: string }[];
    expect(plan.map((r) => r.detail).join(' ')).toContain('datums_by_hash');
    expect(again.prepare("SELECT job FROM datums WHERE pipeline = 'p' AND id = 'd' AND hash = 'h' AND reused = 0 AND state = 'success'").pluck().get()).toBe('j1');
    again.close();
  });

  it('migrates a format-5 store: kept column profiles get their table', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 5');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('profiles')).toEqual(['content', 'version', 'data']);
    again.close();
  });

  it('migrates a format-6 store: kept hasher states get their table', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 6');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('content_states')).toEqual(['content', 'state']);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('chunk_deltas')).toEqual(['id', 'base', 'depth']);
    again.close();
  });

  it('migrates a format-7 store: deltas get their table', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE chunk_deltas');
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 7');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('chunk_deltas')).toEqual(['id', 'base', 'depth']);
    again.close();
  });

  it('migrates a format-8 store: remote-backed chunks and the chunk cache get their tables', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 8');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('remote_chunks')).toEqual(['id', 'remote']);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('chunk_cache')).toEqual(['pack', 'bytes', 'used']);
    again.close();
  });

  it('migrates a format-9 store: remote-backed chunks keep their rows and lose the index by remote', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE datum_attempts; CREATE INDEX remote_chunks_by_remote ON remote_chunks(remote)');
    db.prepare('INSERT INTO remote_chunks (id, remote) VALUES (?, ?)').run(Buffer.alloc(32, 7), 'origin');
    db.pragma('user_version = 9');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'remote_chunks' AND sql IS NOT NULL").pluck().all()).toEqual([]);
    expect(again.prepare('SELECT remote FROM remote_chunks').pluck().all()).toEqual(['origin']);
    again.close();
  });

  it('migrates a format-10 store: datum attempts get their table, the datums kept', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE datum_attempts');
    db.prepare("INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, attempts, finished) VALUES ('p', 'j1', 'd', 0, 'h', 'success', '[]', 1, 5)").run();
    db.pragma('user_version = 10');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('datum_attempts')).toEqual([
      'pipeline',
      'job',
      'datum',
      'attempt',
      'worker',
      'started',
      'finished',
      'outcome',
      'error',
    ]);
    // a datum run before the table existed has no attempt rows, and keeps its own record
    expect(again.prepare('SELECT count(*) FROM datum_attempts').pluck().get()).toBe(0);
    expect(again.prepare("SELECT state, attempts FROM datums WHERE id = 'd'").get()).toEqual({ state: 'success', attempts: 1 });
    again.close();
  });

  it('migrates a format-11 store: skipped rows leave the identity index, earlier results are still found through it', async () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    const insert = db.prepare("INSERT INTO datums (pipeline, job, id, seq, hash, state, inputs, output, finished) VALUES ('p', ?, 'd', 0, 'h', ?, '[]', ?, ?)");
    insert.run('j1', 'success', Buffer.from('out1'), 5);
    // a later job skipped the datum: its row carries the first one's output
    insert.run('j2', 'skipped', Buffer.from('out1'), 9);
    db.pragma('user_version = 11');
    db.close();
    const again = openDb(file, { readonly: false, create: false });
    expect(again.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(again.prepare("SELECT sql FROM sqlite_master WHERE name = 'datums_by_hash'").pluck().get()).toMatch(/\(pipeline, id, hash\) WHERE reused = 0$/);
    // the skipped row is marked reused, and is not in the index: one entry, the row that ran
    expect(again.prepare("SELECT job, reused FROM datums WHERE id = 'd' ORDER BY job").all()).toEqual([
      { job: 'j1', reused: 0 },
      { job: 'j2', reused: 1 },
    ]);
    expect(again.prepare("SELECT count(*) FROM datums INDEXED BY datums_by_hash WHERE pipeline = 'p' AND id = 'd' AND hash = 'h' AND reused = 0").pluck().get()).toBe(1);
    const jobs = new SqliteJobRecords(again);
    const found = await jobs.priorResults('p', [{ id: 'd', hash: 'h' }]);
    expect(found.get('d')).toMatchObject({ job: 'j1', state: 'success', output: Buffer.from('out1') });
    expect((await jobs.priorResults('p', [{ id: 'd', hash: 'other' }])).size).toBe(0);
    again.close();
  });

  it('a read-only open of an older store migrates it first when the file can be written', () => {
    const file = path.join(dir(), 'meta.db');
    const db = openDb(file, { readonly: false, create: true });
    db.exec(BEFORE_FORMAT_12);
    db.exec('DROP TABLE cron_ticks; DROP TABLE profiles; DROP TABLE content_states; DROP TABLE chunk_deltas');
    db.exec('DROP TABLE chunk_cache; DROP TABLE remote_chunks; DROP TABLE datum_attempts');
    db.pragma('user_version = 2');
    db.close();
    const ro = openDb(file, { readonly: true, create: false });
    expect(ro.pragma('user_version', { simple: true })).toBe(FORMAT_VERSION);
    expect(ro.prepare('SELECT count(*) FROM cron_ticks').pluck().get()).toBe(0);
    ro.close();
    // (refused, E_FORMAT, where it cannot be written: limits.test.ts, run as another user)
  });

  it('a missing db file is E_LOCKED (cannot open), not created, when create is false', () => {
    const file = path.join(dir(), 'nope.db');
    expect(thrown(() => openDb(file, { readonly: false, create: false })).code).toBe('E_LOCKED');
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('pack leases', () => {
  it('gives two live owners different packs, and a released pack to the next owner', async () => {
    const core = store();
    await core.index.addWriter('alive-a');
    await core.index.addWriter('alive-b');
    const a = await core.index.claimPack('alive-a', PACK_TARGET_BYTES);
    const b = await core.index.claimPack('alive-b', PACK_TARGET_BYTES);
    expect(a).toMatchObject({ size: 0, sealed: false });
    expect(b.id).not.toBe(a.id);
    expect(b.name).not.toBe(a.name);
    expect(a.name).toMatch(/^[0-9a-f]{32}$/);
    expect(core.db.prepare('SELECT lease_owner FROM packs ORDER BY id').pluck().all()).toEqual(['alive-a', 'alive-b']);

    // a committed (released, unsealed) pack is reused; the fuller one first
    await core.index.commitPack(a.id, 1000, false);
    await core.index.commitPack(b.id, 5000, false);
    await core.index.addWriter('alive-c');
    expect(await core.index.claimPack('alive-c', PACK_TARGET_BYTES)).toEqual({ id: b.id, name: b.name, size: 5000, sealed: false });
    // sealed packs and packs at the target size are never handed out
    await core.index.commitPack(a.id, 1000, true);
    await core.index.addWriter('alive-d');
    const d = await core.index.claimPack('alive-d', PACK_TARGET_BYTES);
    expect([a.id, b.id]).not.toContain(d.id);
    // fresh: always a new pack
    await core.index.commitPack(d.id, 10, false);
    expect([a.id, b.id, d.id]).not.toContain((await core.index.claimPack('alive-d', PACK_TARGET_BYTES, { fresh: true })).id);
  });

  it('takes over a lease held by a dead process, even before the lease expires', async () => {
    const core = store();
    const pid = deadPid();
    const now = Date.now();
    core.db.prepare('INSERT INTO writers (id, pid, host, started, lease_until) VALUES (?, ?, ?, ?, ?)').run('crashed', pid, hostname(), now, now + HOUR);
    expect(isOwnerAlive(pid, hostname(), now + HOUR)).toBe(false);
    expect(await core.index.isWriterAlive('crashed')).toBe(false);
    const held = await core.index.claimPack('crashed', PACK_TARGET_BYTES);

    await core.index.addWriter('alive');
    const taken = await core.index.claimPack('alive', PACK_TARGET_BYTES);
    expect(taken).toEqual({ id: held.id, name: held.name, size: 0, sealed: false });
    const row = core.db.prepare('SELECT lease_owner AS owner, lease_until AS until FROM packs WHERE id = ?').get(held.id) as { owner: string; until: number };
    expect(row.owner).toBe('alive');
    expect(row.until).toBeGreaterThanOrEqual(now + WRITER_LEASE_MS);
    // dead sessions are dropped by the liveness sweep; live ones stay
    expect(await core.index.liveWriters()).toEqual(['alive']);
    expect(core.db.prepare('SELECT id FROM writers').pluck().all()).toEqual(['alive']);
  });

  it('a pack claim and a writer row made while another flow’s unit is open outlive that unit’s rollback', async () => {
    const core = store();
    let opened!: () => void;
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    let fail!: () => void;
    const failing = new Promise<void>((resolve) => (fail = resolve));
    const unit = core.unitOfWork(async () => {
      opened();
      await failing;
      throw new Error('the unit gives up');
    });
    await isOpen;
    // this flow is not in the unit: its rows must not ride on the unit's transaction
    const registered = core.index.addWriter('other-flow');
    const claimed = core.index.claimPack('other-flow', PACK_TARGET_BYTES);
    fail();
    await expect(unit).rejects.toThrow('the unit gives up');
    await registered;
    const pack = await claimed;
    expect(core.db.prepare('SELECT lease_owner FROM packs WHERE id = ?').pluck().get(pack.id)).toBe('other-flow');
    expect(await core.index.isWriterAlive('other-flow')).toBe(true);
  });

  it('a lease whose owner never registered, or whose remote host let it expire, is taken over', async () => {
    const core = store();
    const ghost = await core.index.claimPack('never-registered', PACK_TARGET_BYTES);
    await core.index.addWriter('alive');
    expect((await core.index.claimPack('alive', PACK_TARGET_BYTES)).id).toBe(ghost.id);

    const now = Date.now();
    expect(isOwnerAlive(1, 'some-other-host', now + 1000, now)).toBe(true);
    expect(isOwnerAlive(1, 'some-other-host', now - 1, now)).toBe(false);
    expect(isOwnerAlive(process.pid, hostname(), 0, now)).toBe(true);
  });

  it('the writer that takes over a dead writer’s pack truncates the bytes it left behind', async () => {
    const core = store();
    const first = seededBytes(40_000, 1);
    const lost = seededBytes(60_000, 2);

    const w1 = new PackWriter(core.index, core.packs, 's1');
    await core.index.addWriter('s1');
    w1.add(hashBytes(first) as ChunkId, first);
    await w1.sync();
    await core.unitOfWork(async () => await w1.record());
    await w1.close(false);
    const loc = (await core.index.getChunk(hashBytes(first) as ChunkId))!;
    const committed = PACK_MAGIC.length + RECORD_HEADER_BYTES + first.length;

    // s2 appends and fsyncs, then its process dies: lease kept, writer row left behind
    await core.index.addWriter('s2');
    const w2 = new PackWriter(core.index, core.packs, 's2');
    w2.add(hashBytes(lost) as ChunkId, lost);
    await w2.sync();
    await w2.close(false);
    core.db.prepare('UPDATE writers SET pid = ? WHERE id = ?').run(deadPid(), 's2');
    expect(core.db.prepare('SELECT lease_owner FROM packs WHERE id = ?').pluck().get(loc.pack)).toBe('s2');
    expect(core.packs.local!.sizeOf(loc.packName)).toBe(committed + RECORD_HEADER_BYTES + lost.length);

    await core.index.addWriter('s3');
    const w3 = new PackWriter(core.index, core.packs, 's3');
    const next = seededBytes(30_000, 3);
    w3.add(hashBytes(next) as ChunkId, next);
    await w3.sync();
    await core.unitOfWork(async () => await w3.record());
    await w3.close(false);
    expect((await core.index.getChunk(hashBytes(next) as ChunkId))).toMatchObject({ pack: loc.pack, offset: committed });
    expect(core.packs.local!.sizeOf(loc.packName)).toBe(committed + RECORD_HEADER_BYTES + next.length);
    expect(await core.index.hasChunk(hashBytes(lost) as ChunkId)).toBe(false);
  });
});

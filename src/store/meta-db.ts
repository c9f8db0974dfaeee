// The metadata database: schema, numbered migrations, and the connection settings every process
// must agree on. The only file with CREATE TABLE.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { CorruptError, FormatVersionError, InvalidArgumentError, IoError, LockedError, StoreBusyError, TuskError } from '../errors.js';

export type Db = BetterSqlite3.Database;

// required rather than imported: an ESM import of this CommonJS package makes Node scan its
// source for export names on every start. The bundle (scripts/bundle.js) turns this line into a
// plain require, so the package's JavaScript is compiled with the bundle's code cache rather
// than read from 13 files at every start.
const req = createRequire(import.meta.url);
const Database = req('better-sqlite3') as typeof BetterSqlite3;

let addonPath: string | null | undefined;

/**
 * better-sqlite3's addon, named to it directly: its own lookup (the `bindings` package) tries
 * a dozen paths first (a cost paid at every start), and cannot find it from inside the bundle.
 * undefined (its own lookup) where the addon is not where node-gyp builds it.
 */
function nativeBinding(): string | undefined {
  if (addonPath === undefined) {
    addonPath = null;
    try {
      const file = path.join(path.dirname(req.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
      if (fs.existsSync(file)) addonPath = file;
    } catch {
      // resolved its own way below
    }
  }
  return addonPath ?? undefined;
}

/** Bumped by every migration; a store whose version is higher was written by a newer tusk. */
export const FORMAT_VERSION = 12;

const MIGRATIONS: readonly string[] = [
  // 1: the whole v1 schema
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  -- Pack files: append-only, found by name under packs/. 'size' is the committed length: bytes
  -- past it belong to a writer that has not committed (or crashed) and are ignored / reclaimed.
  CREATE TABLE packs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    sealed INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    created INTEGER NOT NULL
  );

  -- chunk id -> location. codec 0 = raw, 1 = zstd (2 = delta, from format 8).
  CREATE TABLE chunks (
    id BLOB PRIMARY KEY,
    pack INTEGER NOT NULL REFERENCES packs(id),
    offset INTEGER NOT NULL,
    stored_len INTEGER NOT NULL,
    raw_len INTEGER NOT NULL,
    codec INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX chunks_by_pack ON chunks(pack);

  -- file content id -> its chunk list (concatenated 32-byte chunk ids). NULL chunk list means
  -- the content is one chunk whose id equals the content id (most small files).
  CREATE TABLE contents (
    id BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    chunks BLOB
  ) WITHOUT ROWID;

  -- Merkle tree nodes (directory pages), id = BLAKE3 of data.
  CREATE TABLE nodes (id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;

  CREATE TABLE repos (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL DEFAULT 'user',
    description TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL
  );

  -- Commits are keyed by (repo, id): one id names a commit set across repos, as in Pachyderm.
  CREATE TABLE commits (
    repo TEXT NOT NULL REFERENCES repos(name),
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    branch TEXT,
    parent TEXT,
    origin TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    started INTEGER NOT NULL,
    finishing INTEGER,
    finished INTEGER,
    root BLOB,
    size INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    PRIMARY KEY (repo, id)
  );
  CREATE INDEX commits_by_id ON commits(id);
  CREATE INDEX commits_by_parent ON commits(repo, parent);
  CREATE INDEX commits_by_seq ON commits(repo, seq);

  CREATE TABLE branches (
    repo TEXT NOT NULL REFERENCES repos(name),
    name TEXT NOT NULL,
    head TEXT,
    created INTEGER NOT NULL,
    PRIMARY KEY (repo, name)
  );

  -- Declared branch provenance: (repo, branch) depends on (from_repo, from_branch).
  CREATE TABLE branch_provenance (
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    from_repo TEXT NOT NULL,
    from_branch TEXT NOT NULL,
    PRIMARY KEY (repo, branch, from_repo, from_branch)
  );
  CREATE INDEX branch_subvenance ON branch_provenance(from_repo, from_branch);

  -- Recorded commit provenance: the exact upstream commits a commit was made from.
  CREATE TABLE commit_provenance (
    repo TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    from_repo TEXT NOT NULL,
    from_commit TEXT NOT NULL,
    from_branch TEXT,
    PRIMARY KEY (repo, commit_id, from_repo, from_commit)
  );
  CREATE INDEX commit_subvenance ON commit_provenance(from_repo, from_commit);

  -- (local path, device, inode, size, mtime, ctime) -> content id: a re-put reads only changed
  -- files. Times are stat's millisecond doubles, stored as REAL so they round-trip exactly.
  CREATE TABLE file_cache (
    path TEXT PRIMARY KEY,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    ctime REAL NOT NULL,
    content BLOB NOT NULL
  ) WITHOUT ROWID;

  -- Live write sessions. gc never sweeps while one is alive: a writer may have decided to reuse
  -- a chunk that is unreferenced right now.
  CREATE TABLE writers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
  );
  `,
  // 2: pipelines, jobs and datums
  `
  CREATE TABLE pipelines (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,        -- normalized spec (JSON)
    raw TEXT NOT NULL,         -- the spec as written (JSON), for list pipeline --spec
    salt TEXT NOT NULL,
    output_branch TEXT NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
  );

  -- One job per (pipeline, commit set); id = output commit id.
  CREATE TABLE jobs (
    pipeline TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    salt TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created INTEGER NOT NULL,
    started INTEGER,
    finished INTEGER,
    processed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    recovered INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    download_bytes INTEGER NOT NULL DEFAULT 0,
    upload_bytes INTEGER NOT NULL DEFAULT 0,
    runner TEXT,
    lease_until INTEGER,
    PRIMARY KEY (pipeline, id)
  );
  CREATE INDEX jobs_by_state ON jobs(state, created);

  -- Datums of a job. inputs: JSON list of the files the datum sees; output: root page id of what
  -- the datum wrote (NULL when nothing / not yet).
  CREATE TABLE datums (
    pipeline TEXT NOT NULL,
    job TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL,
    inputs TEXT NOT NULL,
    output BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    started INTEGER,
    finished INTEGER,
    error TEXT,
    claimed_by TEXT,
    lease_until INTEGER,
    download_bytes INTEGER NOT NULL DEFAULT 0,
    upload_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pipeline, job, id)
  );
  CREATE INDEX datums_by_state ON datums(pipeline, job, state, seq);
  -- successful results by identity: what lets a later job skip a datum
  CREATE INDEX datums_by_hash ON datums(pipeline, id, hash, state);
  `,
  // 3: cron inputs' last ticks
  `
  -- The newest tick written for each cron input (ms since the epoch: the schedule time the tick
  -- file is named after). Read and moved in the transaction that writes the tick, so two runners
  -- never write the same one. No row yet: the input's start time, else the pipeline's creation.
  CREATE TABLE cron_ticks (
    pipeline TEXT NOT NULL,
    input TEXT NOT NULL,
    last_tick INTEGER NOT NULL,
    PRIMARY KEY (pipeline, input)
  );
  `,
  // 4: the local file cache a directory at a time (file-cache.ts); the old rows are only a cache
  `
  DROP TABLE file_cache;
  -- Segments of one local directory's cached files (dev, ino, size, mtime, ctime -> content id
  -- per name, encoded by file-cache.ts); a newer segment overrides an older one name by name.
  CREATE TABLE file_cache (
    dir TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entries BLOB NOT NULL,
    PRIMARY KEY (dir, seq)
  );
  `,
  // 5: a datum's state leaves the identity index. With it there, every claim and every result
  // moved one entry per datum to a random page of the index (ids are hashes): ~85 WAL pages per
  // batch of results, 6 per datum. The lookup reads the few rows of one identity instead.
  `
  DROP INDEX datums_by_hash;
  CREATE INDEX datums_by_hash ON datums(pipeline, id, hash);
  `,
  // 6: column profiles of CSV contents (src/monitor/profile.ts), computed once per content:
  // contents never change, so a row is never stale; \`version\` is the profile format's.
  `
  CREATE TABLE profiles (
    content BLOB NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (content, version)
  ) WITHOUT ROWID;
  `,
  // 7: the BLAKE3 state at the end of big contents (hash-state.ts), so that a content that
  // extends one of them hashes only its new bytes. Only a shortcut: a state is used only after
  // it digests to its content's id, and a content without one is read and hashed whole.
  `
  CREATE TABLE content_states (
    content BLOB PRIMARY KEY,
    state BLOB NOT NULL
  ) WITHOUT ROWID;
  `,
  // 8: chunks stored as deltas (codec 2) against base chunks (delta-store.ts), one row per base.
  // The base ids are also in the record, so packs stay self-describing; the rows let gc keep
  // bases and the writer bound chains without reading packs. depth = versions from here down to
  // chunks stored whole, a bound on the levels of deltas a read decodes (delta-store.ts MAX_CHAIN).
  `
  CREATE TABLE chunk_deltas (
    id BLOB NOT NULL,
    base BLOB NOT NULL,
    depth INTEGER NOT NULL,
    PRIMARY KEY (id, base)
  ) WITHOUT ROWID;
  `,
  // 9: lazy clones (remote-chunks.ts). remote_chunks: chunks the store's commits need whose bytes
  // stay on a remote until read; one with a chunks row beside it is cached. chunk_cache: the packs
  // that hold fetched chunks, evicted whole, least recently used first.
  `
  CREATE TABLE remote_chunks (
    id BLOB PRIMARY KEY,
    remote TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX remote_chunks_by_remote ON remote_chunks(remote);
  CREATE TABLE chunk_cache (
    pack INTEGER PRIMARY KEY REFERENCES packs(id) ON DELETE CASCADE,
    bytes INTEGER NOT NULL,
    used INTEGER NOT NULL
  );
  `,
  // 10: remote_chunks loses its index by remote. A store has one remote or a few, so the index
  // narrowed no query (each reads most of the table), and keeping it up to date was a second
  // B-tree insert for each of a lazy clone's rows.
  `
  DROP INDEX IF EXISTS remote_chunks_by_remote;
  `,
  // 11: one row per attempt at a datum: which worker ran it, when, and how it ended (outcome
  // success | failed | recovered | returned). A claim opens the row; finished and outcome stay
  // NULL for an attempt whose worker went away before it ended.
  `
  CREATE TABLE datum_attempts (
    pipeline TEXT NOT NULL,
    job TEXT NOT NULL,
    datum TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker TEXT NOT NULL,
    started INTEGER NOT NULL,
    finished INTEGER,
    outcome TEXT,
    error TEXT,
    PRIMARY KEY (pipeline, job, datum, attempt)
  ) WITHOUT ROWID;
  `,
  // 12: skipped rows leave the identity index. Every job writes a row per datum, the skipped ones
  // (unchanged since an earlier job) included, and ids are hashes: each such row went into this
  // index at a random page, most of what a rerun wrote. A skipped row only carries the output of
  // a row that ran, which stays (rows go only with their pipeline), so the lookup finds that one.
  // `reused` marks a skipped row, fixed when the row is written: an index whose condition named
  // the state would move an entry when a datum's claim or result changes it, as before format 5.
  `
  DROP INDEX datums_by_hash;
  ALTER TABLE datums ADD COLUMN reused INTEGER NOT NULL DEFAULT 0;
  UPDATE datums SET reused = 1 WHERE state = 'skipped';
  CREATE INDEX datums_by_hash ON datums(pipeline, id, hash) WHERE reused = 0;
  `,
];

export interface OpenDbOptions {
  readonly: boolean;
  create: boolean;
}

/** The first bytes of every SQLite database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Why `file` can no longer be read as a database (unreadable, overwritten), or undefined. */
export function dbFileFault(file: string): string | undefined {
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // a store removed with `rm -r` loses this file before its directory: the same loss, said so
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `${file} was deleted`;
    return `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  return head.equals(SQLITE_MAGIC) ? undefined : `${file} is no longer a database`;
}

/** Open meta.db with the settings every process must share (WAL, busy timeout, FKs), migrating forward. */
export function openDb(file: string, opts: OpenDbOptions): Db {
  try {
    return openAt(file, file, opts);
  } catch (err) {
    // A store an older tusk wrote: a reading command migrates it first when this user can write
    // it, so the first command after an upgrade need not be one that writes.
    if (opts.readonly && err instanceof NeedsMigration) {
      let rw: Db | undefined;
      try {
        rw = openAt(file, file, { readonly: false, create: false });
      } catch {
        throw err; // cannot write it here: say what is needed
      } finally {
        rw?.close();
      }
      return openDb(file, opts);
    }
    // A WAL database needs its -shm file even to be read. On a store whose directory this user
    // cannot write (a read-only mount, chmod a-w, another user's store) SQLite can neither
    // create it nor, without URI filenames (better-sqlite3 builds without them, so no
    // `immutable=1`), be told the file cannot change. Reads then go to a private snapshot.
    if (opts.readonly && isReadonlyWalFailure(err)) return openSnapshot(file);
    throw sqliteFailure(err, opts.readonly ? `cannot read store metadata ${file}` : `cannot open store metadata ${file} for writing`) ?? err;
  }
}

/**
 * A team store's client directory keeps this machine's own cache (local-cache.ts) in a SQLite
 * file of its own: only the file cache, in meta.db's layout (format 4 on), so FileCache reads it
 * alike. A cache: a file that cannot be read is reported, never repaired silently.
 */
export function openCacheDb(file: string): Db {
  let db: Db;
  try {
    db = new Database(file, { timeout: busyTimeoutMs(), nativeBinding: nativeBinding() });
  } catch (err) {
    throw new LockedError(`cannot open this machine's cache ${file}: ${(err as Error).message}`, 'check that the client directory is writable');
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS file_cache (dir TEXT NOT NULL, seq INTEGER NOT NULL, entries BLOB NOT NULL, PRIMARY KEY (dir, seq))');
  } catch (err) {
    db.close();
    throw sqliteFailure(err, `cannot open this machine's cache ${file}`) ?? err;
  }
  return db;
}

/** How long a statement waits for another process's write lock before failing busy. */
const BUSY_TIMEOUT_MS = 30_000;

/** The busy timeout of this process: TUSK_BUSY_TIMEOUT_MS when set, else BUSY_TIMEOUT_MS. */
export function busyTimeoutMs(): number {
  const raw = process.env.TUSK_BUSY_TIMEOUT_MS;
  if (raw === undefined || raw === '') return BUSY_TIMEOUT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new InvalidArgumentError(`TUSK_BUSY_TIMEOUT_MS: must be a whole number of milliseconds, got ${JSON.stringify(raw)}`, `unset it to use the default of ${BUSY_TIMEOUT_MS}`);
  return ms;
}

function openAt(file: string, shown: string, opts: OpenDbOptions): Db {
  let db: Db;
  const busyMs = busyTimeoutMs();
  try {
    db = new Database(file, { readonly: opts.readonly, fileMustExist: !opts.create, timeout: busyMs, nativeBinding: nativeBinding() });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'SQLITE_CANTOPEN' || e.code === 'SQLITE_READONLY')
      throw new LockedError(`cannot open store metadata ${shown}: ${e.message}`, 'check that the store exists and is readable', { cause: err });
    throw err;
  }
  try {
    // refuse a newer store before writing anything to it (switching to WAL is a write)
    checkVersion(db);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -65536');
    migrate(db, opts.readonly);
  } catch (err) {
    db.close(); // a refused or failed open must not leak the connection
    throw err;
  }
  return db;
}

function isReadonlyWalFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  const cause = (err as { cause?: { code?: unknown } })?.cause?.code;
  return [code, cause].some((c) => typeof c === 'string' && (c.startsWith('SQLITE_READONLY') || c === 'SQLITE_CANTOPEN' || c === 'SQLITE_IOERR_LOCK'));
}

/**
 * Read-only fallback: copy meta.db (and its -wal, which holds the newest commits) to a private
 * temp dir, fold the WAL in, switch the copy to a rollback journal (which needs no -shm) and
 * open that read-only. The copy is unlinked at once (the open handle keeps it), so nothing is
 * left behind. Costs one copy of the metadata (packs are read in place); the reader sees the
 * store as it was when the command started, which a store nobody can write to is anyway.
 */
function openSnapshot(file: string): Db {
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-ro-'));
  } catch (err) {
    throw new LockedError(`cannot read store metadata ${file}: its directory is read-only and no temp dir is writable`, 'make the store directory writable, or set TMPDIR', { cause: err });
  }
  try {
    const copy = path.join(dir, 'meta.db');
    try {
      for (const [from, to] of [[file, copy], [`${file}-wal`, `${copy}-wal`]] as const) {
        if (from !== file && !fs.existsSync(from)) continue;
        fs.copyFileSync(from, to);
        fs.chmodSync(to, 0o600); // the copy keeps the source's read-only mode otherwise
      }
    } catch (err) {
      throw new LockedError(`cannot read store metadata ${file}: ${(err as Error).message}`, 'check that the store is readable', { cause: err });
    }
    const rw = new Database(copy, { fileMustExist: true, nativeBinding: nativeBinding() });
    try {
      checkVersion(rw); // a newer store is refused, not converted
      rw.pragma('journal_mode = DELETE');
    } finally {
      rw.close();
    }
    return openAt(copy, file, { readonly: true, create: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * SQLite failures caused by the environment, not by a bug, as the TuskError a user can act on:
 * disk full and I/O errors are E_IO, a read-only or busy store E_LOCKED, a damaged database
 * E_CORRUPT. Anything else (constraint violations, misuse) is returned as null: a bug.
 */
export function sqliteFailure(err: unknown, what = 'cannot update the store metadata'): TuskError | null {
  if (err instanceof TuskError) return err;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const opts = { cause: err };
  if (code === 'SQLITE_FULL') return new IoError(`${what}: no space left on device`, 'free disk space, then retry; nothing was committed', opts);
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM')
    return new LockedError(`${what}: the store is read-only (${code})`, 'use a writable store or check its permissions', opts);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new StoreBusyError(`${what}: the store stayed busy for ${busyTimeoutMs() / 1000} s (${code})`, 'retry when the other tusk commands have finished', opts);
  if (code.startsWith('SQLITE_IOERR')) return new IoError(`${what}: I/O error (${code}): ${(err as Error).message}`, undefined, opts);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return new CorruptError(`${what}: the metadata database is damaged (${code})`, 'restore .tusk/meta.db from a backup', opts);
  return null;
}

/** Run `fn`, turning environmental SQLite failures into TuskErrors (see sqliteFailure). */
export function guardSqlite<T>(fn: () => T, what?: string): T {
  try {
    return fn();
  } catch (err) {
    throw sqliteFailure(err, what) ?? err;
  }
}

function currentVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** A read-only open of a store at an older format. */
class NeedsMigration extends FormatVersionError {}

function checkVersion(db: Db): void {
  const version = currentVersion(db);
  if (version > FORMAT_VERSION)
    throw new FormatVersionError(
      `this store uses format version ${version}, but this tusk understands only up to ${FORMAT_VERSION}`,
      'upgrade tusk (npm install -g tusk@latest) to open this store',
    );
}

function migrate(db: Db, readonly: boolean): void {
  const version = currentVersion(db);
  if (version === FORMAT_VERSION) return;
  if (readonly) throw new NeedsMigration(`store format ${version} needs a migration to format ${FORMAT_VERSION}, and this user cannot write the store`, 'run any tusk command once as a user who can write the store, to migrate it');
  const run = db.transaction(() => {
    // re-check inside the write lock: another process may have migrated meanwhile
    for (let v = currentVersion(db); v < FORMAT_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  });
  run.immediate();
}

/**
 * WAL pages between automatic checkpoints while a write of many units runs. A tree's rows go in
 * over several checkpoint units; SQLite's default checkpoint (at 1,000 pages) after each copied
 * the same chunk-index pages into the db file again and again. At 16,384 pages (64 MiB) a tree of
 * 100,000 files is checkpointed once, at the end, and one of millions still keeps its WAL bounded.
 */
const MANY_UNITS_WAL_PAGES = 16_384;

/** Run `fn`, a write of many units, with the WAL checkpointed once at its end (when it succeeds) rather than after each unit. */
export async function withManyUnits<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  // writes of many units may overlap on the store's one connection: the first sets the
  // checkpoint interval, the last to end puts back what was there before the first
  let at = manyUnits.get(db);
  if (!at) {
    at = { writes: 0, pages: db.pragma('wal_autocheckpoint', { simple: true }) as number };
    manyUnits.set(db, at);
    db.pragma(`wal_autocheckpoint = ${MANY_UNITS_WAL_PAGES}`);
  }
  at.writes++;
  try {
    const result = await fn();
    // the write is durable (the WAL synced) when the command returns
    db.pragma('wal_checkpoint(PASSIVE)');
    return result;
  } finally {
    if (--at.writes === 0) {
      manyUnits.delete(db);
      db.pragma(`wal_autocheckpoint = ${at.pages}`);
    }
  }
}

/** The writes of many units in flight on a connection, and its checkpoint interval before them. */
const manyUnits = new WeakMap<Db, { writes: number; pages: number }>();

/** After rows were deleted (gc): fold the WAL back in, and vacuum when a quarter of the file is free. */
export function compactDb(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const freelist = db.pragma('freelist_count', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  if (freelist > pages / 4) db.exec('VACUUM');
}

// The unit of work on SQLite: an in-process async mutex around BEGIN IMMEDIATE … COMMIT on the
// store's one connection, so that a unit's body may await between its statements.
import { AsyncLocalStorage } from 'node:async_hooks';
import { guardSqlite, type Db } from './meta-db.js';

/** One unit in flight: `open` turns false when it commits or rolls back. */
interface Unit {
  open: boolean;
  db: Db;
}

/** The mutex of one database file: every connection to it in this process takes the same one. */
interface FileLock {
  tail: Promise<void>;
  held: boolean;
}

const locks = new Map<string, FileLock>();

/**
 * Test-only (docs/format.md): TUSK_TEST_UNIT_RERUN=1 runs the body of every outermost unit twice,
 * rolling the first run back, as a network database does after a serialization conflict. Code
 * that breaks the retry rule (effects outside the metadata, counters kept across attempts) then
 * shows in any test that runs with it.
 */
function rerunUnits(): boolean {
  return process.env.TUSK_TEST_UNIT_RERUN === '1';
}
const current = new AsyncLocalStorage<Unit>();

/**
 * Units of work on one SQLite connection. better-sqlite3's own `db.transaction` cannot span an
 * `await`, so a unit is BEGIN IMMEDIATE (the store's write lock, across processes) held by one
 * async flow at a time (the mutex, within this process). Everything on the connection while a
 * unit is open is part of it, so reads made outside the unit wait for the mutex (`settled`): a
 * unit's writes are seen whole or not at all.
 */
export class SqliteUnits {
  private readonly lock: FileLock;

  constructor(private readonly db: Db) {
    // one mutex per file, not per connection: a second connection's BEGIN IMMEDIATE would wait
    // for the first one's unit synchronously, and so block the very event loop that ends it
    let lock = locks.get(db.name);
    if (!lock) locks.set(db.name, (lock = { tail: Promise.resolve(), held: false }));
    this.lock = lock;
  }

  /** Whether the calling flow runs inside an open unit on this connection (one on another connection is refused). */
  inUnit(): boolean {
    const unit = current.getStore();
    if (unit?.open !== true) return false;
    if (unit.db !== this.db) throw new Error('a unit of work was started on a second connection to the store inside a unit on the first: use the unit you are in');
    return true;
  }

  /**
   * undefined when a caller outside any unit may touch the connection now; otherwise a promise
   * that resolves once the unit in flight has committed or rolled back.
   */
  settled(): Promise<void> | undefined {
    if (!this.lock.held || this.inUnit()) return undefined;
    return this.lock.tail.then(() => this.settled());
  }

  /**
   * Run `fn` as one unit now, for the rows a store module records in the middle of its work
   * (chunk rows at an ingest checkpoint). Joins the calling flow's unit; false, and `fn` not
   * run, while another flow's unit is open on the connection: the caller keeps its rows for a
   * later checkpoint or its commit rather than wait behind a unit that may be long.
   */
  async runNow(fn: () => Promise<void>): Promise<boolean> {
    if (this.inUnit()) {
      await fn();
      return true;
    }
    if (this.lock.held) return false;
    await this.run(fn);
    return true;
  }

  /**
   * Run `fn` as one transaction. A unit started inside a unit joins it (its writes land with the
   * outer one's, and a failure rolls back both).
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inUnit()) return fn();
    const lock = this.lock;
    const before = lock.tail;
    let release!: () => void;
    lock.tail = new Promise<void>((resolve) => (release = resolve));
    await before;
    lock.held = true;
    const unit: Unit = { open: true, db: this.db };
    try {
      guardSqlite(() => this.db.exec('BEGIN IMMEDIATE'));
      let value: T;
      try {
        if (rerunUnits()) {
          // the contract's retry, made every time: the first run's writes are rolled back under
          // the same write lock, and only the second run's result and writes count
          this.db.exec('SAVEPOINT unit_rerun');
          await current.run(unit, fn);
          this.db.exec('ROLLBACK TO unit_rerun');
          this.db.exec('RELEASE unit_rerun');
        }
        value = await current.run(unit, fn);
        guardSqlite(() => this.db.exec('COMMIT'));
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
      return value;
    } finally {
      unit.open = false;
      lock.held = false;
      release();
    }
  }
}

/**
 * Run `f` once `settled()` says no other flow's unit is open on the connection. Asked again after
 * every wait: a unit queued behind the one waited for may begin before this flow resumes, and `f`
 * must not run inside it.
 */
export async function whenSettled<T>(settled: () => Promise<void> | undefined, f: () => T): Promise<T> {
  for (let wait = settled(); wait; wait = settled()) await wait;
  return f();
}

// What a contract implementation is bound to: the pool (outside a unit of work: each call is its
// own statement) or one transaction's client (inside one: every call joins that transaction).
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface Binding {
  readonly db: Queryable;
  /** Run `fn` atomically: in a transaction of its own when bound to the pool, inline inside a unit. */
  atomically<T>(fn: (db: Queryable) => Promise<T>): Promise<T>;
  /**
   * Run one statement that may simply be run again: bound to the pool, again (after a backoff)
   * when the server ends it as a deadlock's victim or a serialization failure; inside a unit,
   * once (the unit is run again as a whole).
   */
  again<T>(fn: (db: Queryable) => Promise<T>): Promise<T>;
}

export const PAGE = 1000;

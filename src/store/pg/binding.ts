// What a contract implementation is bound to: the pool (outside a unit of work: each call is its
// own statement) or one transaction's client (inside one: every call joins that transaction).
import type pg from 'pg';

export type Queryable = Pick<pg.ClientBase, 'query'>;

export interface Binding {
  readonly db: Queryable;
  /** Run `fn` atomically: in a transaction of its own when bound to the pool, inline inside a unit. */
  atomically<T>(fn: (db: Queryable) => Promise<T>): Promise<T>;
}

/** Rows read a page at a time by key, so an iteration holds one page in memory and no connection between pages. */
export async function* pages<R>(fetch: (last: R | undefined) => Promise<R[]>, pageSize: number): AsyncGenerator<R> {
  let last: R | undefined;
  for (;;) {
    const rows = await fetch(last);
    yield* rows;
    if (rows.length < pageSize) return;
    last = rows[rows.length - 1];
  }
}

export const PAGE = 1000;

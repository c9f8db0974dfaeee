// Reading rows a page at a time by key: the one loop behind every paged iteration of the metadata
// contracts, on SQLite and on PostgreSQL.

/**
 * Rows read a page at a time by key: `fetch(last)` returns at most `pageSize` rows after `last`
 * (the first page when undefined); a short page ends the iteration. Each page is read whole
 * before it is handed out, so the consumer may await (and other queries run) between rows, and an
 * iteration holds one page in memory and no statement or connection between pages.
 */
export async function* pagedRows<R>(fetch: (last: R | undefined) => Promise<R[]>, pageSize: number): AsyncGenerator<R> {
  let last: R | undefined;
  for (;;) {
    const rows = await fetch(last);
    yield* rows;
    if (rows.length < pageSize) return;
    last = rows[rows.length - 1];
  }
}

// What a waiter (`wait commit`, `wait job`, `logs -f`, the console's live views) waits on between
// two reads of the state it waits for. A store that can tell it when something changed (a team
// store: PostgreSQL notifications, pg/watch.ts) wakes it then; one that cannot (SQLite, whose
// writers are other processes) wakes it after the caller's poll interval. Either way the waiter
// re-reads the state itself: a wake-up says only that something may have changed.

/** Wake-ups for one waiter; close it when the wait ends. */
export interface ChangeFeed {
  /**
   * Resolves when it is time to read the state again: on a store that notifies, once a commit
   * finished, a branch moved, a job or datum changed state or log lines were written since the
   * last call (or since the feed opened), and at the latest after its safety interval; on one
   * that does not, after `pollMs`. Never later than `limitMs`. Resolves at once once closed or
   * aborted. Rejects when the feed can no longer tell (its connection to the database is lost):
   * a tusk error naming the database.
   */
  next(pollMs: number, limitMs?: number): Promise<void>;
  /** End the feed (its connection, where it has one); later calls to next resolve at once. */
  close(): Promise<void>;
}

/** The feed of a store that cannot notify: each wait is the caller's poll interval, cut short by `signal`. */
export function pollingFeed(signal?: AbortSignal): ChangeFeed {
  let closed = false;
  const sleepers = new Set<() => void>();
  const close = async (): Promise<void> => {
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    for (const wake of sleepers) wake();
    sleepers.clear();
  };
  const onAbort = (): void => void close();
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) void close();
  return {
    next(pollMs, limitMs = Infinity) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, Math.min(pollMs, limitMs)));
        sleepers.add(wake);
      });
    },
    close,
  };
}

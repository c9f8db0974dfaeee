// Change notifications: the units of work that move a branch or finish a commit send a NOTIFY,
// which PostgreSQL delivers when (and only if) that unit commits. A watcher holds one dedicated
// connection listening on a channel, and wakes on delivery: no polling.
import pg from 'pg';
import { clientConfig, pgFailure, type PgTarget } from './connection.js';

/** Payload: {"repo","branch","head"} — a branch now points at head. */
export const BRANCH_CHANNEL = 'tusk_branch';
/** Payload: {"repo","id"} — a commit was finished. */
export const COMMIT_CHANNEL = 'tusk_commit';

export interface BranchMoved {
  repo: string;
  branch: string;
  head: string;
}

export interface CommitFinished {
  repo: string;
  id: string;
}

/** Notifications on one channel, in commit order; `close` (or ending a for-await loop) ends it. */
export interface Watcher<T> extends AsyncIterable<T> {
  close(): Promise<void>;
}

/**
 * Listen on `channel`: resolves once the LISTEN is in place, so every unit that commits after
 * that is seen. The payloads come as parsed JSON, in commit order. Aborting `signal` or calling
 * close() ends the iteration and the connection. A lost connection ends it with the error: what
 * was sent meanwhile is not replayed, so a watcher re-reads state when it listens again.
 */
export async function watch<T = unknown>(target: PgTarget, channel: string, signal?: AbortSignal): Promise<Watcher<T>> {
  const client = new pg.Client(clientConfig(target));
  const queue: T[] = [];
  let failure: unknown;
  let closed = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    wake?.();
    wake = undefined;
  };
  client.on('notification', (m) => {
    if (m.channel !== channel) return;
    queue.push(JSON.parse(m.payload ?? 'null') as T);
    poke();
  });
  client.on('error', (err) => {
    failure = err;
    poke();
  });
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    poke();
    await client.end().catch(() => {});
  };
  const onAbort = (): void => void close();
  try {
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  } catch (err) {
    await client.end().catch(() => {});
    throw pgFailure(err, target) ?? err;
  }
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) await close();
  async function* events(): AsyncGenerator<T> {
    try {
      for (;;) {
        while (queue.length > 0 && !closed) yield queue.shift()!;
        if (closed) return;
        if (failure !== undefined) throw pgFailure(failure, target) ?? failure;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      await close();
    }
  }
  return { [Symbol.asyncIterator]: events, close };
}

/** Statement fragment: send `payload` (SQL expression yielding json) on a channel, once per row of the CTE `src`. */
export function notifyFrom(channel: string, payload: string, src: string): string {
  return `SELECT pg_notify('${channel}', (${payload})::text) FROM ${src}`;
}

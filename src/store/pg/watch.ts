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

/**
 * The payloads sent on `channel` from now on, in commit order, as parsed JSON. Ending the
 * iteration (break, return, or `signal`) closes the connection. A lost connection ends it
 * with the error: what was sent meanwhile is not replayed, so a watcher re-reads state after.
 */
export async function* watch<T = unknown>(target: PgTarget, channel: string, signal?: AbortSignal): AsyncGenerator<T> {
  const client = new pg.Client(clientConfig(target));
  const queue: T[] = [];
  let failure: unknown;
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
  const onAbort = (): void => poke();
  signal?.addEventListener('abort', onAbort);
  try {
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      throw pgFailure(err, target) ?? err;
    }
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (failure !== undefined) throw pgFailure(failure, target) ?? failure;
      if (signal?.aborted) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => {});
  }
}

/** Statement fragment: send `payload` (SQL expression yielding json) on a channel, once per row of the CTE `src`. */
export function notifyFrom(channel: string, payload: string, src: string): string {
  return `SELECT pg_notify('${channel}', (${payload})::text) FROM ${src}`;
}

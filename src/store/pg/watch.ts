// Change notifications: the units of work that move a branch or finish a commit send a NOTIFY,
// which PostgreSQL delivers when (and only if) that unit commits. A watcher holds one dedicated
// connection listening on a channel, and wakes on delivery: no polling.
import pg from 'pg';
import { IoError } from '../../errors.js';
import type { ChangeFeed } from '../change-feed.js';
import { clientConfig, describeTarget, pgFailure, redact, type PgTarget } from './connection.js';

/** Payload: {"repo","branch","head"} — a branch now points at head. */
export const BRANCH_CHANNEL = 'tusk_branch';
/** Payload: {"repo","id"} — a commit was finished. */
export const COMMIT_CHANNEL = 'tusk_commit';

/** Payload: {"pipeline","job"} — a job was created, changed state or counts, or one of its datums ended or was restarted. */
export const JOB_CHANNEL = 'tusk_job';
/** Payload: {"pipeline","job"} — lines were appended to the job's log (on the machine that ran them). */
export const LOG_CHANNEL = 'tusk_log';
/** What a waiter (ChangeFeed) listens on. */
export const CHANGE_CHANNELS = [BRANCH_CHANNEL, COMMIT_CHANNEL, JOB_CHANNEL, LOG_CHANNEL] as const;

/**
 * Without a notification, a waiter reads the state again after this long anyway: some of what it
 * waits for changes with time alone (a runner's or a datum's lease running out), and a writer
 * that sends no notification (an older tusk on the same database) would otherwise never wake it.
 */
export const SAFETY_MS = 10_000;

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

/** One dedicated connection (not the pool's) LISTENing on some channels, and a way to sleep until it is poked. */
interface Listener {
  /** set when the connection failed or ended under the listener */
  readonly failure: () => unknown;
  readonly closed: () => boolean;
  /** resolves on the next notification, failure or close (or after `ms`) */
  sleep(ms?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connect and LISTEN on `channels`: resolves once the LISTEN is in place, so every unit that
 * commits after that is delivered to `onNotification`. Aborting `signal` or close() ends the
 * connection; a failure or an end not asked for is kept for the caller to report.
 */
async function listen(target: PgTarget, channels: readonly string[], onNotification: (channel: string, payload: string | undefined) => void, signal?: AbortSignal): Promise<Listener> {
  const client = new pg.Client(clientConfig(target));
  let failure: unknown;
  let closed = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    wake?.();
    wake = undefined;
  };
  client.on('notification', (m) => {
    if (!channels.includes(m.channel)) return;
    onNotification(m.channel, m.payload);
    poke();
  });
  client.on('error', (err) => {
    failure ??= err;
    poke();
  });
  client.on('end', () => {
    if (!closed) failure ??= new Error('the connection ended');
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
    await client.query(channels.map((c) => `LISTEN ${pg.escapeIdentifier(c)}`).join('; '));
  } catch (err) {
    closed = true;
    await client.end().catch(() => {});
    throw pgFailure(err, target) ?? err;
  }
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) await close();
  return {
    failure: () => failure,
    closed: () => closed,
    async sleep(ms) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (ms !== undefined) timer = setTimeout(poke, Math.max(0, ms));
      });
      clearTimeout(timer);
    },
    close,
  };
}

/**
 * Listen on `channel`: resolves once the LISTEN is in place, so every unit that commits after
 * that is seen. The payloads come as parsed JSON, in commit order. Aborting `signal` or calling
 * close() ends the iteration and the connection. A lost connection ends it with the error: what
 * was sent meanwhile is not replayed, so a watcher re-reads state when it listens again.
 */
export async function watch<T = unknown>(target: PgTarget, channel: string, signal?: AbortSignal): Promise<Watcher<T>> {
  const queue: T[] = [];
  const l = await listen(target, [channel], (_c, payload) => queue.push(JSON.parse(payload ?? 'null') as T), signal);
  async function* events(): AsyncGenerator<T> {
    try {
      for (;;) {
        while (queue.length > 0 && !l.closed()) yield queue.shift()!;
        if (l.closed()) return;
        if (l.failure() !== undefined) throw pgFailure(l.failure(), target) ?? l.failure();
        await l.sleep();
      }
    } finally {
      await l.close();
    }
  }
  return { [Symbol.asyncIterator]: events, close: l.close };
}

/** Statement fragment: send `payload` (SQL expression yielding json) on a channel, once per row of the CTE `src`. */
export function notifyFrom(channel: string, payload: string, src: string): string {
  return `SELECT pg_notify('${channel}', (${payload})::text) FROM ${src}`;
}

/**
 * A ChangeFeed over one dedicated connection listening on every change channel: resolves once the
 * LISTEN is in place, so a unit committed after that wakes the next (or a pending) `next()`. Only
 * that something changed is kept, not what: the waiter re-reads what it waits for. The connection
 * is not the pool's, so a wait holds no connection other work needs; `close()` or aborting
 * `signal` ends it. A lost connection makes `next()` reject with E_IO naming the database: what
 * was committed meanwhile would go unseen, so the wait ends rather than sleeping on.
 */
export async function listenForChanges(target: PgTarget, signal?: AbortSignal, opts: { safetyMs?: number } = {}): Promise<ChangeFeed> {
  const safetyMs = opts.safetyMs ?? SAFETY_MS;
  let changed = false;
  const l = await listen(target, CHANGE_CHANNELS, () => (changed = true), signal);
  const lost = (failure: unknown): Error =>
    pgFailure(failure, target) ??
    new IoError(
      `lost the connection to the metadata database ${describeTarget(target)} while waiting for a change: ${redact((failure as Error)?.message ?? String(failure))}`,
      'check that PostgreSQL is running, then run the command again',
      { cause: failure },
    );
  return {
    async next(_pollMs, limitMs = Infinity) {
      if (!l.closed() && l.failure() === undefined && !changed) await l.sleep(Math.min(safetyMs, limitMs));
      if (l.closed()) return;
      if (l.failure() !== undefined) throw lost(l.failure());
      changed = false;
    },
    close: l.close,
  };
}

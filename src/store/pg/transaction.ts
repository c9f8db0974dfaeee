// One unit of work on PostgreSQL: a SERIALIZABLE transaction on one pooled connection, retried
// from the start when the server reports a serialization failure or a deadlock.
import type pg from 'pg';
import { ConflictError } from '../../errors.js';
import { pgFailure, type PgTarget } from './connection.js';

/** SQLSTATEs after which running the whole transaction again can succeed. */
const RETRYABLE = new Set(['40001', '40P01']);

export interface RetryOptions {
  /** tries in all, the first included */
  tries?: number;
  /** the first backoff's upper bound (ms); doubles per try */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** told of each retry (tests count them) */
  onRetry?: (attempt: number, sqlstate: string) => void;
}

export const DEFAULT_TRIES = 30;

export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has((err as { code?: string })?.code ?? '');
}

/**
 * Run `fn` in a SERIALIZABLE transaction and commit it. SERIALIZABLE, not REPEATABLE READ: the
 * contracts read and then write on what they read (a branch head, the next seq, a pack's lease),
 * and only SERIALIZABLE turns every such read-write race into a retryable failure instead of a
 * lost update. A failure with SQLSTATE 40001/40P01 — from any statement or from COMMIT — rolls
 * back and runs `fn` again after a jittered backoff; past `tries` it is a ConflictError.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, target: PgTarget, opts: RetryOptions = {}): Promise<T> {
  const tries = opts.tries ?? DEFAULT_TRIES;
  const base = opts.baseDelayMs ?? 5;
  const cap = opts.maxDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw pgFailure(err, target) ?? err;
    }
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection itself failed: do not hand it back to the pool
      }
      if (!isRetryable(err)) throw pgFailure(err, target) ?? err;
      const code = (err as { code: string }).code;
      if (attempt >= tries)
        throw new ConflictError(
          `the metadata database refused this change ${tries} times as conflicting with concurrent changes (SQLSTATE ${code})`,
          'retry the command; if it keeps failing, fewer writers at once will let it through',
          { cause: err },
        );
      opts.onRetry?.(attempt, code);
      // full jitter: writers that collided once do not collide again in lockstep
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** (attempt - 1))));
    } finally {
      client.release(broken);
    }
  }
}

/**
 * One statement outside any unit (its own transaction), run again after a jittered backoff when
 * the server ends it with SQLSTATE 40001/40P01: a runner's lease renewal can be the victim of a
 * deadlock with its own result write, which locks the same rows in another order, and must not
 * fail the job for it. Past `tries` it is a ConflictError.
 */
export async function retryStatement<T>(run: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const tries = opts.tries ?? DEFAULT_TRIES;
  const base = opts.baseDelayMs ?? 5;
  const cap = opts.maxDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const code = (err as { code: string }).code;
      if (attempt >= tries)
        throw new ConflictError(
          `the metadata database refused this statement ${tries} times as conflicting with concurrent changes (SQLSTATE ${code})`,
          'retry the command; if it keeps failing, fewer writers at once will let it through',
          { cause: err },
        );
      opts.onRetry?.(attempt, code);
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** (attempt - 1))));
    }
  }
}

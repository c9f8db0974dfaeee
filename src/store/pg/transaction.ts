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
 * Failed tries after which a unit runs alone. Optimistic retries alone can starve a writer: under
 * eight writers committing to one branch on two busy cores, a slow unit kept losing to the others'
 * fresh first tries and gave up after 30 (CI, team-concurrency). From its fourth try a unit waits
 * for the gate exclusively, so that none of the other units runs beside it, and runs alone.
 */
export const ALONE_AFTER = 3;
/** the gate: an advisory lock of its own class (two-key form, apart from the other advisory locks) */
const GATE = '1953854315, 1970170228'; // 'tusk', 'unit' as two int4 keys
/** how long a unit waits at the gate before that wait counts as one more conflict (ms) */
const GATE_WAIT_MS = 60_000;
/** SQLSTATE lock_not_available: a wait at the gate outlasted GATE_WAIT_MS */
const GATE_TIMEOUT = '55P03';
const UNLOCK = `SELECT pg_advisory_unlock(${GATE})`;

/** Wait for the gate, in a message of its own (no transaction), never longer than GATE_WAIT_MS. */
function waitAtGate(client: pg.PoolClient, mode: 'shared' | 'exclusive'): Promise<unknown> {
  // SET and the lock in one implicit transaction: a timeout rolls the SET back with it
  const take = `SET lock_timeout = ${GATE_WAIT_MS}; SELECT pg_advisory_lock${mode === 'shared' ? '_shared' : ''}(${GATE}); SET lock_timeout = DEFAULT`;
  // a shared wait is only for the exclusive units ahead to finish: let go at once
  return client.query(mode === 'shared' ? `${take}; SELECT pg_advisory_unlock_shared(${GATE})` : take);
}

/**
 * Run `fn` in a SERIALIZABLE transaction and commit it. SERIALIZABLE, not REPEATABLE READ: the
 * contracts read and then write on what they read (a branch head, the next seq, a pack's lease),
 * and only SERIALIZABLE turns every such read-write race into a retryable failure instead of a
 * lost update. A failure with SQLSTATE 40001/40P01 — from any statement or from COMMIT — rolls
 * back and runs `fn` again after a jittered backoff; past `tries` it is a ConflictError.
 *
 * Every unit passes a gate, an advisory lock, in the round trip of its BEGIN: it takes the lock
 * shared, without waiting, until it ends. Units that do not conflict never wait for each other
 * there. A unit that failed ALONE_AFTER times takes the lock exclusively before its BEGIN (so that
 * its snapshot comes after the wait): PostgreSQL grants it once the units holding it shared have
 * ended, and refuses the shared lock to every unit that comes while it waits or runs — those wait
 * at the gate outside any transaction and begin again — so it runs alone and no unit can make it
 * fail again. Gate waits are bounded by GATE_WAIT_MS, so that a wait PostgreSQL's deadlock detector
 * cannot see (a caller holding the gate in a unit of its own) ends as one more conflict.
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
    const alone = attempt > ALONE_AFTER;
    let gateHeld = false; // the exclusive session lock
    let broken = false;
    try {
      try {
        if (alone) {
          await waitAtGate(client, 'exclusive');
          gateHeld = true;
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        } else {
          // refused only while an exclusive unit waits or runs: wait for it, and begin again
          for (;;) {
            const begun = (await client.query(`BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_try_advisory_xact_lock_shared(${GATE}) AS open`)) as unknown as pg.QueryResult[];
            if (begun[1]!.rows[0].open === true) break;
            await client.query('ROLLBACK');
            await waitAtGate(client, 'shared');
          }
        }
        const result = await fn(client);
        await client.query(gateHeld ? `COMMIT; ${UNLOCK}` : 'COMMIT');
        gateHeld = false;
        return result;
      } catch (err) {
        try {
          await client.query(gateHeld ? `ROLLBACK; ${UNLOCK}` : 'ROLLBACK');
          gateHeld = false;
        } catch {
          broken = true; // the connection itself failed: do not hand it back to the pool (its locks go with it)
        }
        const code = (err as { code?: string })?.code ?? '';
        if (!isRetryable(err) && code !== GATE_TIMEOUT) throw pgFailure(err, target) ?? err;
        if (attempt >= tries) throw refusedTooOften('change', tries, code, err);
        opts.onRetry?.(attempt, code);
      }
    } finally {
      client.release(broken || gateHeld);
    }
    // none before a turn alone: the gate's queue does that waiting
    if (attempt < ALONE_AFTER) await backoff(attempt, base, cap);
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
      if (attempt >= tries) throw refusedTooOften('statement', tries, code, err);
      opts.onRetry?.(attempt, code);
      await backoff(attempt, base, cap);
    }
  }
}

function refusedTooOften(what: 'change' | 'statement', tries: number, code: string, cause: unknown): ConflictError {
  return new ConflictError(
    `the metadata database refused this ${what} ${tries} times as conflicting with concurrent changes (SQLSTATE ${code})`,
    'retry the command; if it keeps failing, fewer writers at once will let it through',
    { cause },
  );
}

/** Full jitter: writers that collided once do not collide again in lockstep. */
function backoff(attempt: number, base: number, cap: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** (attempt - 1))));
}

// Claim: a runner takes pending datums of a job in batches (one write each) under a lease it
// renews while it runs them, and hands them out in order to its lanes.
import { InvalidArgumentError } from '../errors.js';
import type { DatumRecord, JobRecord } from '../store/job-records.js';
import type { StoreHandle } from '../store/store-handle.js';

/** A datum whose runner vanished is taken over after this long without a lease renewal. */
export const DATUM_LEASE_MS = 60_000;
/** Runners renew their leases every 250 ms: a lease shorter than a few renewals would lapse under load. */
const MIN_DATUM_LEASE_MS = 1000;

/**
 * How long a runner with nothing to claim may sleep before a running datum's lease runs out (it
 * can take the datum over then; a lease running out sends no notification), no less than
 * `minMs`; Infinity while no datum is running.
 */
export async function untilLeaseEnds(s: StoreHandle, minMs: number): Promise<number> {
  const end = await s.jobs.nextLeaseEnd();
  // a little after the end: the claim compares the lease with the claimer's clock, not this one's
  return end === undefined ? Infinity : Math.max(minMs, end - Date.now() + 50);
}

/**
 * The datum lease of this process: TUSK_DATUM_LEASE_MS when set (a shorter one lets the datums
 * of a killed worker be taken over sooner), else DATUM_LEASE_MS.
 */
export function datumLeaseMs(): number {
  const raw = process.env.TUSK_DATUM_LEASE_MS;
  if (raw === undefined || raw === '') return DATUM_LEASE_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < MIN_DATUM_LEASE_MS)
    throw new InvalidArgumentError(`TUSK_DATUM_LEASE_MS: must be a whole number of milliseconds of at least ${MIN_DATUM_LEASE_MS}, got ${JSON.stringify(raw)}`, 'unset it to use the default of 60000');
  return ms;
}
/** Datums claimed per write at first: small enough that another runner on the same job still gets a share. */
const CLAIM_BATCH = 16;
/**
 * While batches are used up within CLAIM_FAST_MS the next one is twice as big, up to this: a
 * claim is a write transaction, which costs more than a quick datum, and opens an attempt row
 * per datum at a random place of their table (ids are hashes), so a claim of n datums rewrites
 * up to n of its pages. A batch that lasts longer than CLAIM_SLOW_MS (slow datums) sends it back
 * to CLAIM_BATCH, so that a job's tail is shared.
 */
const CLAIM_BATCH_MAX = 256;
const CLAIM_FAST_MS = 400;
const CLAIM_SLOW_MS = 1000;

/** The datums of one job this runner has claimed and not yet handed to a lane. */
export class DatumClaims {
  private readonly queue: DatumRecord[] = [];
  // queued datums `restart datum` sent back before they started: someone claims them again
  private readonly restarted = new Set<string>();
  private batch = CLAIM_BATCH;
  private claimedAt = -Infinity;
  // lanes asking at once share one claim rather than each claiming a batch
  private claiming: Promise<void> | undefined;
  private readonly leaseMs = datumLeaseMs();

  /**
   * `onClaimed`: told of each batch before its datums are handed out (a runner looks their inputs
   * up together); it must not throw, since the datums are claimed by then.
   */
  constructor(
    private readonly s: StoreHandle,
    private readonly job: JobRecord,
    private readonly runner: string,
    private readonly onClaimed?: (batch: readonly DatumRecord[]) => Promise<void>,
  ) {}

  /** The next datum to run, claiming a batch when none is queued; undefined when none is left. */
  async next(): Promise<DatumRecord | undefined> {
    for (;;) {
      const d = this.queue.shift();
      if (d) return d;
      if (this.claiming) {
        await this.claiming; // another lane's claim: look again once it is in
        continue;
      }
      const claim = this.claim();
      // the error, if any, reaches the lane that claimed; the others just look again
      this.claiming = claim.then(
        () => undefined,
        () => undefined,
      ).finally(() => (this.claiming = undefined));
      if ((await claim) === 0 && this.queue.length === 0) return undefined;
    }
  }

  private async claim(): Promise<number> {
    const now = Date.now();
    if (now - this.claimedAt < CLAIM_FAST_MS) this.batch = Math.min(this.batch * 2, CLAIM_BATCH_MAX);
    else if (now - this.claimedAt > CLAIM_SLOW_MS) this.batch = CLAIM_BATCH;
    this.claimedAt = now;
    const got = await this.s.jobs.claimDatums(this.job.pipeline, this.job.id, this.runner, this.leaseMs, this.batch);
    if (got.length > 0) await this.onClaimed?.(got);
    this.queue.push(...got);
    return got.length;
  }

  /** Whether `d` lost its claim while it waited in the queue (then it is not run); asks once. */
  takeRestarted(d: DatumRecord): boolean {
    return this.restarted.delete(d.id);
  }

  /**
   * Renew the lease of every datum this runner holds; returns the ids it still holds. A queued
   * datum whose claim is gone was restarted (or retaken after this runner's lease ran out).
   * Only datums queued before the renewal began are judged by its answer: a batch claimed while
   * it ran (a lane's claim beside it, on another connection) is not in it, and is ours.
   * `held`: the other datums the runner holds (running in lanes, results not yet written); with
   * them the renewal names every datum it is about, and the store need not search for them.
   */
  async renew(held?: Iterable<string>): Promise<Set<string>> {
    const { pipeline, id } = this.job;
    const asked = new Set(this.queue.map((d) => d.id));
    // a lease with more than half its span left is not written again yet (renewals come every 250 ms)
    const now = Date.now();
    const ids = held ? [...new Set([...asked, ...held])] : undefined;
    const ours = await this.s.jobs.renewDatumLeases(pipeline, id, this.runner, now + this.leaseMs, now + this.leaseMs / 2, ids);
    for (const d of this.queue) if (asked.has(d.id) && !ours.has(d.id)) this.restarted.add(d.id);
    return ours;
  }

  /** Give every datum this runner holds back to the queue at once (the runner is stopping). */
  release(): Promise<number> {
    return this.s.jobs.releaseClaims(this.job.pipeline, this.job.id, this.runner);
  }
}

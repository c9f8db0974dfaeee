// Opening and making a team store: metadata in a PostgreSQL database, packs in the bucket the
// database names, this machine's client directory (src/store/team-dir.ts). docs/team.md.
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { describePackLocation, samePackLocation, type PackLocation } from '../store/pack-location.js';
import { openCacheDb } from '../store/meta-db.js';
import { clientConfig, describeTarget, pgFailure, type PgTarget } from '../store/pg/connection.js';
import { PgMetadata } from '../store/pg/metadata.js';
import { recordedPacks, recordTeamPacks } from '../store/pg/team-store.js';
import type { RemoteChunkIndex } from '../store/remote-chunks.js';
import { Store } from '../store/store.js';
import { openTeamCore } from '../store/team-core.js';
import { makeTeamDir, withoutPassword } from '../store/team-dir.js';
import { bucketPacks, checkPacksAt, probePacks, type PacksAt } from './pack-backends.js';

/**
 * The remote-chunk contract a team store's core takes, until RemoteChunkIndex answers with
 * promises as PostgreSQL's does: its callers (reads, fsck, gc, lazy pulls) still use it
 * synchronously. openTeam first checks, with PostgreSQL's own contract, that the database holds no
 * remote-backed chunk; this answers for such a store, and refuses, before anything is written, the
 * one thing that would make one: a lazy pull into it. It goes, with its call in openTeam, once the
 * contract is asynchronous: the core then takes `m.remoteChunks` itself.
 */
function withoutLazyChunks(): RemoteChunkIndex {
  const refuse = (): never => {
    throw new InvalidArgumentError('a lazy pull (`--lazy`) into a team store is not supported by this tusk', 'pull without --lazy: the bytes then come into the bucket with the commits');
  };
  return {
    any: () => false,
    mark: refuse,
    putSoleContents: refuse,
    absent: () => new Map(),
    unbacked: (ids) => [...ids],
    anyBacked: () => false,
    touch: () => new Set(),
    addCachePacks: refuse,
    isCachePack: () => false,
    cacheBytes: () => 0,
    cachePacks: () => [],
    evict: refuse,
    absentOf: () => [],
    settle: () => {},
    counts: () => [],
    sweep: () => 0,
  };
}

export interface TeamOpen {
  /** this machine's client directory */
  dir: string;
  /** the database URL as given (with its password, if it has one: used, never written or shown) */
  url: string;
  readonly?: boolean;
}

/** Open the team store in the database at `url`, this machine's client directory at `dir`. */
export async function openTeam(opts: TeamOpen): Promise<{ store: Store; packs: PackLocation }> {
  const target: PgTarget = { url: opts.url };
  clientConfig(target); // a malformed URL is refused before any connection, redacted
  const packs = await recordedPacks(target);
  if (!packs)
    throw new NotFoundError(
      'store',
      describeTarget(target),
      `no tusk store in the metadata database ${describeTarget(target)}`,
      'make one with `tusk init DIR --metadata URL --packs s3://BUCKET/PREFIX`, or name the database that holds it',
    );
  const meta = await PgMetadata.open(target);
  let backend: ReturnType<typeof bucketPacks> | undefined;
  try {
    if (await meta.remoteChunks.any())
      throw new InvalidArgumentError(
        `the team store in ${describeTarget(target)} holds chunks left on a remote by a lazy pull, which this tusk cannot read from a team store`,
        'upgrade tusk on this machine',
      );
    makeTeamDir(opts.dir, opts.url, packs, openCacheDb);
    backend = bucketPacks(opts.dir, packs);
    const lazy = withoutLazyChunks();
    const core = openTeamCore({ path: opts.dir, location: opts.url, meta, packs: backend, remoteChunks: () => lazy, readonly: opts.readonly });
    return { store: new Store(core), packs };
  } catch (err) {
    backend?.close();
    await meta.close();
    throw err;
  }
}

export type TeamInitResult = { path: string; created: boolean; packs: string; metadata: string };

/**
 * Make the team store in the database at `url` with its packs at `packsAt`, or join the one it
 * holds (`packsAt` may then be left out; one that disagrees is an error naming both), and make
 * `dir` this machine's client directory for it. The database (connect, read) and the bucket (a
 * probe object written, read back, deleted) are checked before anything is written to either.
 */
export async function initTeam(dir: string, url: string, packsAt: PacksAt | undefined): Promise<TeamInitResult> {
  const target: PgTarget = { url };
  clientConfig(target);
  const want = packsAt && checkPacksAt(packsAt);
  const recorded = await recordedPacks(target);
  if (recorded && want && !samePackLocation(recorded, want))
    throw new InvalidArgumentError(
      `the team store in ${describeTarget(target)} keeps its packs in ${describePackLocation(recorded)}, not in ${describePackLocation(want)}`,
      "a team store's packs stay where it was made: drop --packs to join it, or name another database for a new store",
    );
  const at = recorded ?? want;
  if (!at) throw new InvalidArgumentError(`the metadata database ${describeTarget(target)} holds no tusk store yet, and --packs does not say where a new one keeps its packs`, 'add --packs s3://BUCKET/PREFIX (with --endpoint, --region, --path-style as the bucket needs)');
  await probePacks(at);
  const meta = await PgMetadata.open(target);
  let packs: PackLocation;
  try {
    // two machines making the store at once: the first recorded wins, the other joins it or is told
    packs = await recordTeamPacks(meta.pool, at);
  } catch (err) {
    throw pgFailure(err, target) ?? err;
  } finally {
    await meta.close();
  }
  if (!samePackLocation(packs, at))
    throw new InvalidArgumentError(
      `the team store in ${describeTarget(target)} was just made by another machine with its packs in ${describePackLocation(packs)}, not in ${describePackLocation(at)}`,
      'drop --packs to join it',
    );
  const { created } = makeTeamDir(dir, url, packs, openCacheDb);
  return { path: dir, created, packs: packs.url, metadata: withoutPassword(url) };
}

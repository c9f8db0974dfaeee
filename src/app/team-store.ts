// Opening and making a team store: metadata in a PostgreSQL database, packs in the bucket the
// database names, this machine's client directory (src/store/team-dir.ts). docs/team.md.
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { describePackLocation, samePackLocation, type PackLocation } from '../store/pack-location.js';
import { openCacheDb } from '../store/meta-db.js';
import { clientConfig, describeTarget, pgFailure, type PgTarget } from '../store/pg/connection.js';
import { PgMetadata } from '../store/pg/metadata.js';
import { recordedPacks, recordTeamPacks } from '../store/pg/team-store.js';
import { Store } from '../store/store.js';
import { openTeamCore } from '../store/team-core.js';
import { makeTeamDir, withoutPassword } from '../store/team-dir.js';
import { bucketPacks, checkPacksAt, probePacks, type PacksAt } from './pack-backends.js';

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
    makeTeamDir(opts.dir, opts.url, packs, openCacheDb);
    backend = bucketPacks(opts.dir, packs);
    const core = openTeamCore({ path: opts.dir, location: opts.url, meta, packs: backend, readonly: opts.readonly });
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

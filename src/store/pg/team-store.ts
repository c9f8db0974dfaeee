// What makes a PostgreSQL database a team store: one row (schema version 4) saying where its packs
// are. Kept in the database itself, so a machine that reaches the database finds the bucket with
// nothing else to copy; a client directory's packs.json is only this machine's note of it.
import pg from 'pg';
import { CorruptError } from '../../errors.js';
import { packLocationFields, parsePackLocation, type PackLocation } from '../pack-location.js';
import type { Queryable } from './binding.js';
import { clientConfig, pgFailure, type PgTarget } from './connection.js';
import { PG_SCHEMA_VERSION, schemaVersion } from './schema.js';

/** The version from which a database can hold a team store (its `team_store` row). */
const TEAM_SCHEMA = 4;

const BAD_ROW = () =>
  new CorruptError('the team store row of the metadata database does not say where the packs are', 'restore the database from a backup: its team_store.packs holds {"url": "s3://BUCKET/PREFIX", …}');

/** Where the team store in this database keeps its packs; undefined when no store was made in it yet. */
export async function teamPacks(db: Queryable): Promise<PackLocation | undefined> {
  const r = await db.query<{ packs: string }>('SELECT packs FROM team_store');
  return r.rows[0] ? parsePackLocation(r.rows[0].packs, BAD_ROW) : undefined;
}

/**
 * Make the database a team store whose packs are at `at`, unless it already is one: either way,
 * the location now recorded (the first one recorded wins, also when two machines race).
 */
export async function recordTeamPacks(db: Queryable, at: PackLocation): Promise<PackLocation> {
  await db.query('INSERT INTO team_store (packs, created) VALUES ($1, $2) ON CONFLICT (one) DO NOTHING', [JSON.stringify(packLocationFields(at)), Date.now()]);
  return (await teamPacks(db))!;
}

/**
 * Where the store in the database at `target` keeps its packs, read without writing anything:
 * undefined when the database holds no team store (empty, or another program's).
 */
export async function recordedPacks(target: PgTarget): Promise<PackLocation | undefined> {
  // one connection of its own, ended whatever happened (a login refused half-way included: a pool
  // leaves such a connection open, and the process would not exit)
  const client = new pg.Client(clientConfig(target));
  try {
    await client.connect();
    const version = await schemaVersion(client);
    // a newer database is refused by the migration that follows, naming both versions
    if (version < TEAM_SCHEMA || version > PG_SCHEMA_VERSION) return undefined;
    return await teamPacks(client);
  } catch (err) {
    throw pgFailure(err, target) ?? err;
  } finally {
    await client.end().catch(() => {});
  }
}

// Where a store's packs live, chosen here at the composition root: the store's own `packs/`
// directory (the default), or an object store — an S3 bucket or a directory standing in for one —
// behind the bounded local cache (src/store/bucket-packs.ts). The store names only the little it
// needs of an object store; this module hands it the remote code's clients.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { InvalidArgumentError, IoError, NotFoundError, type TuskError } from '../errors.js';
import { checkRemoteOptions, checkRemoteUrl, openObjectStore, type RemoteOptions } from '../remote/config.js';
import type { ObjectStore } from '../remote/object-store.js';
import { BucketPacks, type PackObjects } from '../store/bucket-packs.js';
import { PACK_CACHE_DIR, PackCache, packCacheLimit } from '../store/pack-cache.js';

/** Where packs are built before their upload: beside the cache, never inside it (its eviction would take them). */
const PACK_STAGING_DIR = 'pack-staging';

/** Packs in an object store: `s3://bucket/prefix` or `file:///dir`, with the options an S3-compatible server needs. */
export type PacksAt = { url: string } & RemoteOptions;

/** The cache of pack blocks under a store's directory, bounded by TUSK_PACK_CACHE_MAX. */
export function packCacheOf(storePath: string): PackCache {
  return new PackCache(path.join(storePath, PACK_CACHE_DIR), packCacheLimit());
}

/** The pack contract over the object store at `at` (or the client given for it), caching under `storePath`. */
export function bucketPacks(storePath: string, at: PacksAt, client: ObjectStore = openObjectStore(at)): BucketPacks {
  return new BucketPacks(packObjects(client), packCacheOf(storePath), { stagingDir: path.join(storePath, PACK_STAGING_DIR) });
}

function packObjects(os: ObjectStore): PackObjects {
  return {
    url: os.url,
    put: (key, body) => os.put(key, body),
    get: (key) => os.get(key),
    getRange: (key, offset, length) => os.getRange(key, offset, length),
    list: (prefix) => os.scan(prefix),
    delete: (key) => os.delete(key),
    close: () => os.close(),
  };
}

/** `at` checked, in canonical form (the URL as `checkRemoteUrl` writes it, unset options left out). */
export function checkPacksAt(at: PacksAt): PacksAt {
  const url = checkRemoteUrl(at.url);
  checkRemoteOptions(url, at);
  const out: PacksAt = { url };
  for (const k of ['endpoint', 'region', 'pathStyle', 'checksums'] as const) if (at[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = at[k];
  return out;
}

/** Where probes are written: outside `packs/` and `pack-sums/`, so no listing of packs ever sees one. */
const PROBE_PREFIX = 'probe/';

/**
 * Whether this machine may keep packs at `at`: an object is written, read back and deleted (what
 * writing packs and collecting garbage need). A failure says which and how to fix it.
 */
export async function probePacks(at: PacksAt, client: ObjectStore = openObjectStore(at)): Promise<void> {
  const key = PROBE_PREFIX + randomBytes(12).toString('hex');
  const body = randomBytes(64);
  try {
    await client.put(key, body);
    const back = await client.get(key);
    if (!back?.equals(body)) throw new IoError(`an object written to ${client.url} did not read back the same`, 'check the endpoint: it must be an S3-compatible server that keeps what it is given');
    await client.delete(key);
  } catch (err) {
    throw unusable(at, err);
  } finally {
    client.close();
  }
}

function unusable(at: PacksAt, err: unknown): TuskError {
  const where = at.endpoint ? `${at.url} (endpoint ${at.endpoint})` : at.url;
  const message = `cannot keep packs in ${where}: ${(err as Error).message}`;
  const fix =
    (at.url.startsWith('s3://')
      ? 'check the bucket exists, that --endpoint, --region and --path-style reach it, and that the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) may write and delete there'
      : 'check the directory can be created and written by this user') + '; no store was made';
  if (err instanceof NotFoundError) return new NotFoundError('store', at.url, message, fix);
  if (err instanceof InvalidArgumentError) return new InvalidArgumentError(message, err.hint ? `${err.hint}; no store was made` : fix, { cause: err });
  return new IoError(message, fix, { cause: err });
}

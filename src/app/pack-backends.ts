// Where a store's packs live, chosen here at the composition root: the store's own `packs/`
// directory (the default), or an object store — an S3 bucket or a directory standing in for one —
// behind the bounded local cache (src/store/bucket-packs.ts). The store names only the little it
// needs of an object store; this module hands it the remote code's clients.
import * as path from 'node:path';
import { openObjectStore, type RemoteOptions } from '../remote/config.js';
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

// One conversation with a remote: its configuration, the object store client, the local caches
// of its immutable records, and the heads this store last saw there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { cacheDir, findRemote, openObjectStore, type RemoteConfig } from './config.js';
import { checkMarker, FORMAT, MARKER } from './layout.js';
import type { ObjectStore } from './object-store.js';
import { UpdateCache } from './refs.js';
import { RemoteIndex } from './remote-index.js';

export interface RemoteSession {
  config: RemoteConfig;
  os: ObjectStore;
  dir: string;
  updates: UpdateCache;
  index: RemoteIndex;
}

export function openSession(store: Store, name: string | undefined): RemoteSession {
  const config = findRemote(store.path, name);
  const os = openObjectStore(config);
  const dir = cacheDir(store.path, config.name);
  return { config, os, dir, updates: new UpdateCache(os, dir), index: new RemoteIndex(os, dir) };
}

/** Make sure the URL holds a tusk remote; `create` marks an empty prefix as one. */
export async function ensureRemote(os: ObjectStore, create: boolean): Promise<void> {
  if (checkMarker(await os.get(MARKER), os.url)) return;
  if (!create) throw new NotFoundError('store', os.url, `no tusk remote at ${os.url}`, 'check the URL, or push to it first');
  await os.put(MARKER, Buffer.from(JSON.stringify({ format: FORMAT }) + '\n'));
}

/** `repo@branch` → its parts; a bare `repo` leaves the branch out. */
export function parseTarget(t: string): { repo: string; branch?: string } {
  const m = /^([A-Za-z0-9_-]+)(?:@([A-Za-z0-9_-]+))?$/.exec(t);
  if (!m) throw new InvalidArgumentError(`${JSON.stringify(t)} is not REPO or REPO@BRANCH`, 'e.g. `tusk push origin images@master`');
  return { repo: m[1]!, branch: m[2] };
}

/** Heads this store last pushed to or fetched from the remote, `repo@branch` → commit. */
export function readTracking(dir: string): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'heads.json'), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

export function saveTracking(dir: string, heads: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'heads.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(heads, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

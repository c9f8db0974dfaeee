// The remotes a store knows, in `.tusk/remotes.json`: a name, a URL and the options needed to
// reach it. Never a secret: credentials come from the AWS credential chain at the time of use.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { DirObjectStore } from './dir-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';

/** One configured remote, as `remote list --json` prints it. */
export interface RemoteConfig {
  name: string;
  url: string;
  /** S3 endpoint for S3-compatible servers (MinIO, Ceph, R2, ...); absent for AWS */
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  checksums?: 'when-supported' | 'when-required';
}

export type RemoteOptions = Omit<RemoteConfig, 'name' | 'url'>;

const FILE = 'remotes.json';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function listRemotes(storePath: string): RemoteConfig[] {
  const file = path.join(storePath, FILE);
  if (!fs.existsSync(file)) return [];
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { remotes: RemoteConfig[] };
  return data.remotes;
}

function saveRemotes(storePath: string, remotes: RemoteConfig[]): void {
  const file = path.join(storePath, FILE);
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(tmp, JSON.stringify({ remotes }, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** Whether a remote's URL names a team store (its PostgreSQL database) rather than an object store. */
export function isStoreRemoteUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Check a URL and its options; returns the URL in canonical form. */
export function checkRemoteUrl(url: string): string {
  if (isStoreRemoteUrl(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new InvalidArgumentError('the remote is not a valid PostgreSQL URL', 'write it as postgres://USER@HOST:PORT/DATABASE');
    }
    // remotes.json is never a secret: the password comes from PGPASSWORD or ~/.pgpass when used
    if (u.password !== '' || u.searchParams.has('password'))
      throw new InvalidArgumentError('a team store remote must not carry its password in the URL', 'drop it from the URL; give it through PGPASSWORD or ~/.pgpass');
    return url;
  }
  const m = /^([a-z0-9]+):\/\//.exec(url);
  if (m?.[1] === 'file') {
    let p: string;
    try {
      p = fileURLToPath(url);
    } catch {
      throw new InvalidArgumentError(`${url} is not a file URL`, 'write it as file:///absolute/path');
    }
    return `file://${path.resolve(p)}`;
  }
  if (m?.[1] === 's3') {
    const rest = url.slice('s3://'.length);
    // never echo what looks like credentials in the URL back to the terminal
    if (rest.split('/')[0]!.includes('@') || rest.split('/')[0]!.includes(':'))
      throw new InvalidArgumentError('an s3:// URL must not carry credentials', 'write s3://BUCKET/PREFIX; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or an AWS profile');
    const [bucket, ...prefix] = rest.split('/');
    if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new InvalidArgumentError(`${url} does not name a valid bucket`, 'write s3://BUCKET/PREFIX with a bucket name of 3-63 lowercase letters, digits, dots and hyphens');
    const p = prefix.filter(Boolean).join('/');
    return `s3://${bucket}${p ? `/${p}` : ''}`;
  }
  throw new InvalidArgumentError(`unsupported remote URL ${url}`, 'use s3://BUCKET/PREFIX, file:///PATH or a team store\'s postgres://USER@HOST:PORT/DATABASE');
}

/** Check the options for reaching the canonical URL `url`. */
export function checkRemoteOptions(url: string, opts: RemoteOptions): void {
  if (opts.endpoint !== undefined && !/^https?:\/\/[^@\s]+$/.test(opts.endpoint))
    throw new InvalidArgumentError('--endpoint must be an http(s) URL without credentials', 'e.g. --endpoint http://127.0.0.1:9000');
  if (!url.startsWith('s3://') && (opts.endpoint || opts.region || opts.pathStyle || opts.checksums))
    throw new InvalidArgumentError(`--endpoint, --region, --path-style and --checksums apply to s3:// URLs only, not to ${url}`, 'drop them');
}

export function addRemote(storePath: string, name: string, url: string, opts: RemoteOptions = {}): RemoteConfig {
  if (!NAME.test(name)) throw new InvalidArgumentError(`${JSON.stringify(name)} is not a valid remote name`, 'use letters, digits, dots, underscores and hyphens, e.g. origin');
  const canonical = checkRemoteUrl(url);
  checkRemoteOptions(canonical, opts);
  const remotes = listRemotes(storePath);
  if (remotes.some((r) => r.name === name)) throw new AlreadyExistsError(`remote ${name} already exists`, `remove it first: \`tusk remote remove ${name}\``);
  const r: RemoteConfig = { name, url: canonical };
  for (const k of ['endpoint', 'region', 'pathStyle', 'checksums'] as const) if (opts[k] !== undefined) (r as unknown as Record<string, unknown>)[k] = opts[k];
  saveRemotes(storePath, [...remotes, r]);
  return r;
}

export function removeRemote(storePath: string, name: string): RemoteConfig {
  const remotes = listRemotes(storePath);
  const r = remotes.find((x) => x.name === name);
  if (!r) throw new NotFoundError('store', name, `remote ${name} not found`, 'run `tusk remote list` to see the remotes');
  saveRemotes(storePath, remotes.filter((x) => x.name !== name));
  fs.rmSync(path.join(storePath, 'remotes', name), { recursive: true, force: true });
  return r;
}

/** The remote named (or the only one, or `origin`). */
export function findRemote(storePath: string, name: string | undefined): RemoteConfig {
  const remotes = listRemotes(storePath);
  if (name === undefined) {
    const pick = remotes.length === 1 ? remotes[0] : remotes.find((r) => r.name === 'origin');
    if (!pick) throw new InvalidArgumentError(remotes.length === 0 ? 'this store has no remote' : 'several remotes and none is named origin', remotes.length === 0 ? 'add one: `tusk remote add origin URL`' : 'name the remote to use');
    return pick;
  }
  const r = remotes.find((x) => x.name === name);
  if (!r) throw new NotFoundError('store', name, `remote ${name} not found`, 'run `tusk remote list` to see the remotes, or `tusk remote add NAME URL`');
  return r;
}

/** A client for the remote's object store. */
export function openObjectStore(r: Pick<RemoteConfig, 'url'> & RemoteOptions): ObjectStore {
  if (isStoreRemoteUrl(r.url)) throw new InvalidArgumentError(`${r.url} is a team store, not an object store remote`, 'push, pull, fetch and clone reach it; check it with `TUSK_STORE=URL tusk fsck` and clean it with `TUSK_STORE=URL tusk gc`');
  if (r.url.startsWith('file://')) return new DirObjectStore(fileURLToPath(r.url), r.url);
  const [bucket, ...prefix] = r.url.slice('s3://'.length).split('/');
  return new S3ObjectStore({ bucket: bucket!, prefix: prefix.join('/'), endpoint: r.endpoint, region: r.region, pathStyle: r.pathStyle, checksums: r.checksums }, r.url);
}

/** The local cache of what a remote holds (index objects, update records, tracked heads). */
export function cacheDir(storePath: string, name: string): string {
  return path.join(storePath, 'remotes', name);
}

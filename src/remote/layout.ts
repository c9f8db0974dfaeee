// Names and encodings of the objects on a remote. Everything is immutable: data and metadata
// objects are named by the SHA-256 of their bytes, update records by that of their body.
//
//   tusk-remote.json                     {"format":1}: marks the prefix as a tusk remote
//   packs/<sha>.pack                     chunk records in tusk's pack format (docs/format.md)
//   index/<sha>                          the chunk ids that pack <sha> holds, where, how long
//   bundles/<sha>                        gzip JSON: commits, tree pages and content lists of one push
//   refs/<repo>/<branch>/<parent>.<id>   an update record: the branch moved to a new head
//   refs/<repo>/<branch>/<parent>.<id>.dead   the update's pusher withdrew it
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CorruptError, FormatVersionError } from '../errors.js';
import type { TransferSet } from '../store/store.js';

export const FORMAT = 1;
export const MARKER = 'tusk-remote.json';
/** the parent named by a branch's first update */
export const ROOT = 'root';
export const ID_BYTES = 32;

export const packKey = (sha: string) => `packs/${sha}.pack`;
export const indexKey = (sha: string) => `index/${sha}`;
export const bundleKey = (sha: string) => `bundles/${sha}`;
export const refsPrefix = (repo: string, branch: string) => `refs/${repo}/${branch}/`;

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function checkMarker(body: Buffer | undefined, url: string): boolean {
  if (!body) return false;
  let format: unknown;
  try {
    format = (JSON.parse(body.toString('utf8')) as { format?: unknown }).format;
  } catch {
    throw new CorruptError(`${url}/${MARKER} is not valid JSON`, 'this prefix is not a tusk remote; use another URL');
  }
  if (format !== FORMAT) throw new FormatVersionError(`${url} holds a tusk remote of format ${String(format)}; this tusk reads format ${FORMAT}`, 'upgrade tusk');
  return true;
}

/** Where one chunk record sits in a remote pack. */
export interface IndexEntry {
  id: Buffer;
  offset: number;
  length: number;
}

const INDEX_MAGIC = Buffer.from('TKRIDX01', 'latin1');
const ENTRY_BYTES = ID_BYTES + 8 + 4;

export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const out = Buffer.alloc(INDEX_MAGIC.length + entries.length * ENTRY_BYTES);
  INDEX_MAGIC.copy(out);
  let at = INDEX_MAGIC.length;
  for (const e of entries) {
    e.id.copy(out, at);
    out.writeBigUInt64BE(BigInt(e.offset), at + ID_BYTES);
    out.writeUInt32BE(e.length, at + ID_BYTES + 8);
    at += ENTRY_BYTES;
  }
  return out;
}

export function decodeIndex(buf: Buffer, name: string): IndexEntry[] {
  if (!buf.subarray(0, INDEX_MAGIC.length).equals(INDEX_MAGIC) || (buf.length - INDEX_MAGIC.length) % ENTRY_BYTES !== 0)
    throw new CorruptError(`remote index ${name} is damaged`, 'run `tusk fsck --remote`; a push from a sound store writes a new one');
  const out: IndexEntry[] = [];
  for (let at = INDEX_MAGIC.length; at < buf.length; at += ENTRY_BYTES) {
    out.push({ id: buf.subarray(at, at + ID_BYTES), offset: Number(buf.readBigUInt64BE(at + ID_BYTES)), length: buf.readUInt32BE(at + ID_BYTES + 8) });
  }
  return out;
}

export function encodeBundle(set: TransferSet): Buffer {
  return gzipSync(JSON.stringify({ format: FORMAT, ...set }), { level: 1 });
}

/** A bundle's set, after checking the bytes against the name they were fetched by. */
export function decodeBundle(buf: Buffer, sha: string): TransferSet {
  if (sha256(buf) !== sha) throw new CorruptError(`remote bundle ${sha.slice(0, 16)} does not match its name`, 'the remote copy is damaged; push again from a sound store');
  return JSON.parse(gunzipSync(buf).toString('utf8')) as TransferSet;
}

/** An update record: the branch's head moved from `previous` to `head`. */
export interface UpdateBody {
  format: number;
  repo: string;
  branch: string;
  /** the update this one follows (ROOT for a branch's first) */
  parent: string;
  head: string;
  previous: string | null;
  /** the bundles this update brought (commits, pages, content lists); data is found by index */
  bundles: string[];
  force: boolean;
  time: string;
  nonce: string;
}

export function encodeUpdate(body: UpdateBody): { id: string; data: Buffer } {
  const data = Buffer.from(JSON.stringify(body));
  return { id: sha256(data).slice(0, 32), data };
}

export function decodeUpdate(data: Buffer, id: string): UpdateBody {
  if (sha256(data).slice(0, 32) !== id) throw new CorruptError(`remote update record ${id} does not match its name`, 'the remote copy is damaged; `tusk push --force` from a sound store replaces the branch');
  return JSON.parse(data.toString('utf8')) as UpdateBody;
}

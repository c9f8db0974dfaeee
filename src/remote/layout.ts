// Names and encodings of the objects on a remote. Everything is immutable: data and metadata
// objects are named by the SHA-256 of their bytes, update records by that of their body.
//
//   tusk-remote.json                     {"format":1}: marks the prefix as a tusk remote
//   packs/<sha>.pack                     chunk records in tusk's pack format (docs/format.md)
//   index/<sha>                          the chunk ids that pack <sha> holds, where, how long, and
//                                        the bases of those stored as deltas
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
  /**
   * The chunks a delta record is decoded against (empty: stored whole); undefined when the index
   * is of the first format, which does not say (the record itself does).
   */
  bases?: Buffer[];
}

const INDEX_MAGIC_V1 = Buffer.from('TKRIDX01', 'latin1');
const ENTRY_BYTES_V1 = ID_BYTES + 8 + 4;
// Format 2 names each delta's bases, so a check of the remote needs no pack bytes to know that
// every delta it keeps can be decoded: magic, entry count, entries with their base counts, then
// the bases of every entry in entry order.
const INDEX_MAGIC = Buffer.from('TKRIDX02', 'latin1');
const ENTRY_BYTES = ID_BYTES + 8 + 4 + 1;

export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  const baseCount = entries.reduce((n, e) => n + (e.bases?.length ?? 0), 0);
  const out = Buffer.alloc(INDEX_MAGIC.length + 4 + entries.length * ENTRY_BYTES + baseCount * ID_BYTES);
  INDEX_MAGIC.copy(out);
  out.writeUInt32BE(entries.length, INDEX_MAGIC.length);
  let at = INDEX_MAGIC.length + 4;
  let baseAt = at + entries.length * ENTRY_BYTES;
  for (const e of entries) {
    e.id.copy(out, at);
    out.writeBigUInt64BE(BigInt(e.offset), at + ID_BYTES);
    out.writeUInt32BE(e.length, at + ID_BYTES + 8);
    out.writeUInt8(e.bases?.length ?? 0, at + ID_BYTES + 12);
    at += ENTRY_BYTES;
    for (const b of e.bases ?? []) (b.copy(out, baseAt), (baseAt += ID_BYTES));
  }
  return out;
}

export function decodeIndex(buf: Buffer, name: string): IndexEntry[] {
  const damaged = () => new CorruptError(`remote index ${name} is damaged`, 'run `tusk fsck --remote`; a push from a sound store writes a new one');
  const magic = buf.subarray(0, INDEX_MAGIC.length);
  const out: IndexEntry[] = [];
  if (magic.equals(INDEX_MAGIC_V1)) {
    if ((buf.length - INDEX_MAGIC_V1.length) % ENTRY_BYTES_V1 !== 0) throw damaged();
    for (let at = INDEX_MAGIC_V1.length; at < buf.length; at += ENTRY_BYTES_V1) {
      out.push({ id: buf.subarray(at, at + ID_BYTES), offset: Number(buf.readBigUInt64BE(at + ID_BYTES)), length: buf.readUInt32BE(at + ID_BYTES + 8) });
    }
    return out;
  }
  if (!magic.equals(INDEX_MAGIC) || buf.length < INDEX_MAGIC.length + 4) throw damaged();
  const count = buf.readUInt32BE(INDEX_MAGIC.length);
  let at = INDEX_MAGIC.length + 4;
  let baseAt = at + count * ENTRY_BYTES;
  if (baseAt > buf.length) throw damaged();
  for (let i = 0; i < count; i++, at += ENTRY_BYTES) {
    const n = buf.readUInt8(at + ID_BYTES + 12);
    if (baseAt + n * ID_BYTES > buf.length) throw damaged();
    const bases: Buffer[] = [];
    for (let j = 0; j < n; j++, baseAt += ID_BYTES) bases.push(buf.subarray(baseAt, baseAt + ID_BYTES));
    out.push({ id: buf.subarray(at, at + ID_BYTES), offset: Number(buf.readBigUInt64BE(at + ID_BYTES)), length: buf.readUInt32BE(at + ID_BYTES + 8), bases });
  }
  if (baseAt !== buf.length) throw damaged();
  return out;
}

/**
 * The entries of an encoded index object whose ids `want` holds (latin1 keys), handed to `found`,
 * after the same checks of its structure as decodeIndex: a read of one chunk looks through every
 * cached index object, and building an entry object for each of its ids was most of that read.
 */
export function scanIndex(buf: Buffer, name: string, want: ReadonlySet<string>, found: (e: IndexEntry) => void): void {
  const damaged = () => new CorruptError(`remote index ${name} is damaged`, 'run `tusk fsck --remote`; a push from a sound store writes a new one');
  const magic = buf.subarray(0, INDEX_MAGIC.length);
  let first: number;
  let step: number;
  let count: number;
  if (magic.equals(INDEX_MAGIC_V1)) {
    if ((buf.length - INDEX_MAGIC_V1.length) % ENTRY_BYTES_V1 !== 0) throw damaged();
    first = INDEX_MAGIC_V1.length;
    step = ENTRY_BYTES_V1;
    count = (buf.length - first) / step;
  } else {
    if (!magic.equals(INDEX_MAGIC) || buf.length < INDEX_MAGIC.length + 4) throw damaged();
    count = buf.readUInt32BE(INDEX_MAGIC.length);
    first = INDEX_MAGIC.length + 4;
    step = ENTRY_BYTES;
    let end = first + count * ENTRY_BYTES;
    if (end > buf.length) throw damaged();
    for (let at = first + ID_BYTES + 12; at < first + count * ENTRY_BYTES; at += ENTRY_BYTES) end += buf[at]! * ID_BYTES;
    if (end !== buf.length) throw damaged();
  }
  // the first four bytes of an id filter out nearly every entry before a key string is made
  const heads = new Set<number>();
  for (const k of want) heads.add(Buffer.from(k, 'latin1').readUInt32BE(0));
  let baseAt = first + count * step;
  for (let i = 0, at = first; i < count; i++, at += step) {
    const n = step === ENTRY_BYTES ? buf[at + ID_BYTES + 12]! : 0;
    if (heads.has(buf.readUInt32BE(at)) && want.has(buf.toString('latin1', at, at + ID_BYTES))) {
      const bases: Buffer[] = [];
      for (let j = 0; j < n; j++) bases.push(buf.subarray(baseAt + j * ID_BYTES, baseAt + (j + 1) * ID_BYTES));
      found({ id: buf.subarray(at, at + ID_BYTES), offset: Number(buf.readBigUInt64BE(at + ID_BYTES)), length: buf.readUInt32BE(at + ID_BYTES + 8), ...(step === ENTRY_BYTES ? { bases } : {}) });
    }
    baseAt += n * ID_BYTES;
  }
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

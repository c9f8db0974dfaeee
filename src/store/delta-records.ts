// Delta records (codec 2) as they travel between stores: parsed and checked as they arrive, and
// decoded for a store that keeps every chunk whole (packs in a bucket: its reads decode no delta,
// delta-writes.ts). A transfer holds the delta records as they came (they are small); once every
// base is here or has arrived, each is decoded against its bases' bytes, checked against its chunk
// id, and handed back to be stored whole, one chunk at a time.
//
// A base's bytes come from the cache of proven bases (delta-cache.ts), from the transfer's other
// deltas (decoded the same way, recursively: a chain decodes from the bottom), or, for a chunk
// stored whole (in the store, or arrived whole in this transfer), from the caller, which reads it
// through the pack contract's ranged reads and checks it against its id. Decoded and read bases
// join the cache, so neighbouring chunks that share bases decode each of them once while it stays
// there; memory holds the cache, the chain being decoded and the held delta records.
import { CorruptError } from '../errors.js';
import { baseCache } from './delta-cache.js';
import { decodeDelta, deltaBases } from './delta-codec.js';
import { hashBytes, type ChunkId } from './hash.js';
import { Codec, decodeRecordHeader, RECORD_HEADER_BYTES } from './pack-format.js';

/** A delta record (codec 2) as it travels: the chunk's size, the payload as stored and its bases. */
export interface DeltaRecord {
  rawLen: number;
  payload: Buffer;
  bases: ChunkId[];
}

/**
 * The delta a record holds, or null for a chunk stored whole; a record that cannot be a delta of
 * `id` (wrong id, length or base list) is a CorruptError naming `where`.
 */
export function deltaOfRecord(id: Uint8Array, record: Buffer, where: string): DeltaRecord | null {
  const h = decodeRecordHeader(record);
  if (!h || h.codec !== Codec.Delta) return null;
  const payload = record.subarray(RECORD_HEADER_BYTES);
  const bases = h.id.equals(id) && record.length === RECORD_HEADER_BYTES + h.storedLen ? deltaBases(payload) : null;
  if (!bases) throw new CorruptError(`${where}: damaged delta record for chunk ${Buffer.from(id).toString('hex').slice(0, 16)}`, 'the remote copy is damaged; run `tusk fsck --remote` or push again from a sound store');
  return { rawLen: h.rawLen, payload, bases };
}

/** A delta's bytes from its bases' bytes (in order), checked against `id`; a mismatch names `where`. */
export function decodeDeltaRecord(id: Uint8Array, delta: DeltaRecord, bases: readonly Buffer[], where: string): Buffer {
  let data: Buffer;
  try {
    data = decodeDelta(delta.payload, delta.rawLen, bases.length === 1 ? bases[0]! : Buffer.concat(bases));
  } catch {
    throw new CorruptError(`${where}: delta chunk ${Buffer.from(id).toString('hex').slice(0, 16)} does not decode`, 'the remote copy is damaged; push again from a sound store');
  }
  if (!hashBytes(data).equals(id)) throw new CorruptError(`${where}: chunk ${Buffer.from(id).toString('hex').slice(0, 16)} does not match its id`, 'the remote copy is damaged; push again from a sound store');
  return data;
}

/** A delta record as a transfer holds it: the chunk, where it came from (for messages), the record. */
export interface HeldDelta extends DeltaRecord {
  id: ChunkId;
  where: string;
}

/** Deeper than any chain a writer makes (delta-store.ts MAX_CHAIN): only a damaged remote, e.g. a cycle, gets here. */
const CHAIN_LIMIT = 64;

/**
 * Decode every delta of `deltas` (keyed by latin1 chunk id) and hand its verified bytes to
 * `store`, in the map's order, each once. `readWhole(id, wantedBy)` gives the bytes of a base
 * that is not among `deltas`, checked against its id, in a buffer the caller may keep.
 */
export async function decodeHeldDeltas(
  deltas: ReadonlyMap<string, HeldDelta>,
  readWhole: (id: ChunkId, wantedBy: HeldDelta) => Promise<Buffer>,
  store: (id: ChunkId, data: Buffer) => Promise<void>,
): Promise<void> {
  /** The bytes of `id` in a buffer of the caller's own (the cache may drop and reuse its own). */
  const bytesOf = async (id: ChunkId, wantedBy: HeldDelta, depth: number): Promise<Buffer> => {
    const key = id.toString('latin1');
    const cached = baseCache.get(key);
    if (cached) return Buffer.from(cached);
    const d = deltas.get(key);
    let data: Buffer;
    if (d) {
      if (depth > CHAIN_LIMIT) throw new CorruptError(`${d.where}: the delta chain of chunk ${id.toString('hex').slice(0, 16)} does not end`, 'the remote copy is damaged; push again from a sound store');
      const bases: Buffer[] = [];
      for (const b of d.bases) bases.push(await bytesOf(b, d, depth + 1));
      // checked against its id: only proven bytes join the cache, or are stored
      data = decodeDeltaRecord(id, d, bases, d.where);
    } else data = await readWhole(id, wantedBy);
    baseCache.set(key, data);
    return Buffer.from(data);
  };
  for (const d of deltas.values()) await store(d.id, await bytesOf(d.id, d, 0));
}

// Where the write path meets deltas: a put of a new version of a file stores its chunks against
// the chunks of the version at the same path in the base commit (docs/format.md, "Deltas").
import { TuskError } from '../errors.js';
import { readBase } from './content-io.js';
import { DELTA_MIN_FILE_BYTES, DeltaPlan } from './delta-plan.js';
import { DeltaEncoder, type DeltaIndex } from './delta-store.js';
import { lookupPath } from './file-tree.js';
import type { ChunkId, ContentId, NodeId } from './hash.js';
import type { PackWriter } from './pack-writer.js';
import type { StoreCore } from './store-core.js';

/** Let `writer` store chunks against the bases a DeltaPlan gives them. */
export function enableDeltas(s: StoreCore, writer: PackWriter): void {
  // a delta's bases are read synchronously while it is decoded: only packs on a local disk serve that
  if (!s.packs.local) return;
  const ctx = { describe: () => 'a delta base' };
  const index: DeltaIndex = {
    depth: (id) => s.index.deltaDepth(id),
    bases: (id) => s.index.deltaBasesOf(id),
    // as planDelta: a remote-backed chunk (lazy clones) may be absent, or evicted later
    mayBeBases: async (ids) => !(await s.remoteChunks.any()) || !(await s.remoteChunks.anyBacked(ids)),
    record: (rows) => s.index.putDeltas(rows),
  };
  writer.deltas = { encoder: new DeltaEncoder(index, (id: ChunkId) => readBase(s.index, s.packs, id, ctx)), index };
}

/**
 * The plan for a new version of `repoPath` of about `sizeHint` bytes (0: unknown): against the
 * file at that path in `baseRoot`; null when there is none, or it is too small to pay.
 */
export async function planDelta(s: StoreCore, baseRoot: NodeId | null, repoPath: string, sizeHint: number): Promise<DeltaPlan | null> {
  if (!baseRoot) return null;
  let e;
  try {
    e = await lookupPath(s.reader, baseRoot, repoPath);
  } catch (err) {
    // a path that cannot hold a file is refused by the put itself, with its own message
    if (err instanceof TuskError) return null;
    throw err;
  }
  if (!e || e.kind !== 'file') return null;
  // too small to pay for a delta: nothing more to ask (a put of many small files asks once per file)
  if (e.size < DELTA_MIN_FILE_BYTES || (sizeHint > 0 && sizeHint < DELTA_MIN_FILE_BYTES)) return null;
  // a remote-backed chunk (lazy clones) may be absent, or evicted from the cache later: never a base
  const table = s.remoteChunks;
  if ((await table.any()) && (await table.anyBacked((await s.index.getContent(e.id as ContentId))?.chunks ?? []))) return null;
  return DeltaPlan.against(s.index, e.id as ContentId, sizeHint);
}

// Where a lazy clone's reads get their bytes: the remote-backed chunks a read needs, by byte
// ranges of the remote's packs (fetch.ts's fetchChunks: neighbours merged into one request).
// Which pack holds a chunk comes from the index objects the pull cached, with no request (only the
// entries asked for are decoded); only a chunk none of them names makes it list the remote's
// index objects again.
import type { ChunkId, RemoteChunkSource, Store } from '../store/store.js';
import { findRemote } from './config.js';
import { fetchChunks } from './fetch.js';
import { openSession, type RemoteSession } from './session.js';

export class LazySource implements RemoteChunkSource {
  private readonly sessions = new Map<string, RemoteSession>();

  constructor(private readonly store: Store) {}

  url(remote: string): string {
    try {
      return findRemote(this.store.path, remote).url;
    } catch {
      return 'a remote this store no longer has';
    }
  }

  async fetch(remote: string, ids: readonly ChunkId[], onRecord: (id: ChunkId, record: Buffer, where: string) => void): Promise<void> {
    let s = this.sessions.get(remote);
    if (!s) {
      s = openSession(this.store, remote);
      this.sessions.set(remote, s);
    }
    if (!s.index.locateCached(ids)) await s.index.load();
    const os = s.os;
    await fetchChunks(s, ids, (id, record, pack) => onRecord(id as ChunkId, record, `remote pack ${pack.slice(0, 16)} at ${os.url}`));
  }

  close(): void {
    for (const s of this.sessions.values()) s.os.close();
    this.sessions.clear();
  }
}

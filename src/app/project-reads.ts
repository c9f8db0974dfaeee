// The project layer's reads (src/project/ports.ts) on an open store: each a thin call into the
// store's handle. Built here, in the composition root, so that src/project never names the handle.
import type { LocalFileStat, ProjectEntry, ProjectFileCache, ProjectReads } from '../project/ports.js';
import type { ContentId, NodeId } from '../store/hash.js';
import { TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';

export function projectReads(h: StoreHandle): ProjectReads {
  return {
    get readonly() {
      return h.readonly;
    },
    graph: h.graph,
    jobs: h.jobs,
    isFinished: (state) => TERMINAL_JOB_STATES.includes(state),
    resolveCommit: (ref) => h.resolveCommit(ref),
    lookupPath: async (root: NodeId, p: string): Promise<ProjectEntry | undefined> => (await h.lookupPath(root, p)) ?? undefined,
    async *walkFiles(root: NodeId, p: string) {
      for await (const batch of h.walkFiles(root, p)) yield* batch;
    },
    async *walkTree(dir: NodeId, prefix: string) {
      for await (const batch of h.walkTree(dir, prefix)) yield* batch;
    },
    async *readContent(id: ContentId, ctx: { describe: () => string }) {
      yield* h.readContent(id, ctx);
    },
    storedContents: async (ids) => new Set((await h.index.getContents(ids)).keys()),
    // one query where nothing is remote-backed: ensureContents asks that first
    async fetchContents(wants) {
      await h.ensureContents(wants);
    },
    fileCache(): ProjectFileCache {
      const cache = h.fileCache();
      return {
        lookup: (file: string, st: LocalFileStat) => cache.lookup(file, st),
        record: async (rows, readAtMs) => h.inFileCacheTransaction(() => cache.record(rows, readAtMs)),
      };
    },
  };
}

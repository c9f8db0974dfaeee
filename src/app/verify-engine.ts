// The engine `tusk verify` re-runs locked pipelines on (src/project/ports.ts VerifyEngine): each
// operation a thin call into the pipeline engine or the store's handle. Built here, in the
// composition root, so that src/project never names the handle.
import { planDatums, resolveInputs } from '../pipeline/datums.js';
import { specOf } from '../pipeline/job-runner.js';
import { readLogs } from '../pipeline/logs.js';
import { createPipelines, deletePipeline } from '../pipeline/pipeline-service.js';
import { runUntil } from '../pipeline/runner.js';
import type { OutputEntry, VerifyEngine } from '../project/ports.js';
import type { ContentId, NodeId } from '../store/hash.js';
import { TERMINAL_JOB_STATES, type StoreHandle } from '../store/store-handle.js';

export function verifyEngine(h: StoreHandle): VerifyEngine {
  return {
    graph: h.graph,
    jobs: h.jobs,
    isFinished: (state) => TERMINAL_JOB_STATES.includes(state),
    async storedSpec(name) {
      const row = await h.jobs.getPipeline(name);
      return row ? { spec: specOf(row), raw: JSON.parse(row.raw) as Record<string, unknown> } : undefined;
    },
    lookupPath: async (root: NodeId, p: string): Promise<OutputEntry | undefined> => (await h.lookupPath(root, p)) ?? undefined,
    async *walkFiles(root: NodeId) {
      for await (const batch of h.walkTree(root, '/')) for (const pe of batch) if (pe.entry.kind === 'file') yield pe;
    },
    contentSizes: async (ids: readonly ContentId[]) => [...(await h.index.getContents(ids)).values()].map((rec) => ({ id: rec.id, size: rec.size })),
    async *readContent(id: ContentId, ctx: { describe: () => string }) {
      yield* h.readContent(id, ctx);
    },
    planDatums: async (input, lookUp) => planDatums(h, input, await resolveInputs(input, h.graph, lookUp)),
    async createPipelines(text, opts) {
      await createPipelines(h, text, opts);
    },
    async runUntil(isDone) {
      await runUntil(h, isDone);
    },
    readLogs: (filter) => readLogs(h, filter),
    async deletePipeline(name) {
      await deletePipeline(h, name, { force: true });
    },
    removeLogs: (pipeline) => h.logs.removePipeline(pipeline),
  };
}

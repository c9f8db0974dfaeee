// Writing one content the way putFiles does, for the store tests: chunks through a sink, fsync,
// then one metadata transaction that records the chunks and the content and ends the session.
import type { ContentRecord } from '../../src/store/chunk-index.js';
import type { ContentSink } from '../../src/store/content-io.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import type { StoreCore } from '../../src/store/store-core.js';

let sessions = 0;

/** A writer session of its own (the owner is unique in this process). */
export function session(core: StoreCore): { owner: string; writer: PackWriter } {
  const owner = `test-${process.pid}-${++sessions}`;
  core.index.addWriter(owner);
  return { owner, writer: new PackWriter(core.index, core.packs, owner) };
}

export async function commitContent(core: StoreCore, make: (w: PackWriter) => ContentSink, feed: (sink: ContentSink) => void): Promise<{ rec: ContentRecord; newChunks: number }> {
  const { owner, writer } = session(core);
  const sink = make(writer);
  feed(sink);
  const rec = sink.finish();
  writer.sync();
  await core.unitOfWork(async () => {
    writer.record();
    core.index.putContents([rec]);
    core.index.removeWriter(owner);
  });
  writer.close(false);
  return { rec, newChunks: writer.newChunks };
}

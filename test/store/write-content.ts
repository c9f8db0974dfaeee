// Writing one content the way putFiles does, for the store tests: chunks through a sink, fsync,
// then one metadata transaction that records the chunks and the content and ends the session.
import type { ContentRecord } from '../../src/store/chunk-index.js';
import type { ContentSink } from '../../src/store/content-io.js';
import { PackWriter } from '../../src/store/pack-writer.js';
import type { StoreCore } from '../../src/store/store-core.js';

let sessions = 0;

/** A writer session of its own (the owner is unique in this process). */
export async function session(core: StoreCore): Promise<{ owner: string; writer: PackWriter }> {
  const owner = `test-${process.pid}-${++sessions}`;
  await core.index.addWriter(owner);
  return { owner, writer: new PackWriter(core.index, core.packs, owner) };
}

export async function commitContent(core: StoreCore, make: (w: PackWriter) => ContentSink, feed: (sink: ContentSink) => Promise<void>): Promise<{ rec: ContentRecord; newChunks: number }> {
  const { owner, writer } = await session(core);
  const sink = make(writer);
  await feed(sink);
  const rec = await sink.finish();
  await writer.sync();
  await core.unitOfWork(async () => {
    await writer.record();
    await core.index.putContents([rec]);
    await core.index.removeWriter(owner);
  });
  await writer.close(false);
  return { rec, newChunks: writer.newChunks };
}

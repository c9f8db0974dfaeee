// One file of a commit as a stream of verified chunks, for readers that parse as they go (column
// profiles, drift) and must never hold a whole file.
import { InvalidArgumentError } from '../errors.js';
import type { FileRef } from './address.js';
import { readContent } from './content-io.js';
import { inspectFile } from './file-service.js';
import { fromHex, type ContentId } from './hash.js';
import type { StoreCore } from './store-core.js';
import type { FileInfo } from './types.js';

export interface FileStream {
  info: FileInfo;
  /** the file's bytes in order, each chunk checked against its id as it is read */
  chunks(): AsyncIterable<Buffer>;
}

/** The file a ref names (one regular file: a directory or a glob matching several is an error). */
export async function streamFile(s: StoreCore, ref: FileRef): Promise<FileStream> {
  const info = await inspectFile(s, ref);
  if (info.type !== 'file') throw new InvalidArgumentError(`${info.path} in ${info.repo}@${info.commit} is a directory`, 'name one file, e.g. REPO@REF:/data.csv');
  const id = fromHex(info.hash) as ContentId;
  return { info, chunks: () => readContent(s.index, s.packs, id, { describe: () => `file ${info.path} in ${info.repo}@${info.commit}` }) };
}

// The reads of committed files that code above the pipeline is given instead of the store: the
// model services of src/ml (predict, serve, model metrics) fetch a fitted chain and its metrics
// through this, so src/ml never imports src/store. The composition root passes the store's
// façade, which has these methods.
import type { Store } from '../store/store.js';

export type RepoReads = Pick<Store, 'getFile' | 'inspectFile' | 'inspectCommit' | 'inspectBranch' | 'listCommits'>;

export { formatFileRef, type FileRef } from '../store/address.js';
export type { CommitInfo } from '../store/types.js';

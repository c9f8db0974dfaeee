// The 1,000,000-entry directory of scenarios 5 and 14, built once per run through the store API
// (untimed): repo `wide` holds /dir/e0000000 … and repo `tiny` the first 10 of those names.
// run.js deletes it once no scenario left to run uses it.
import * as path from 'node:path';
import { freshStore, log, putSyntheticTree, withStore } from '../lib.js';

export const entryName = (i) => `e${String(i).padStart(7, '0')}`;

/** The store's `.tusk` path, building it on first use. */
export async function wideStore(ctx) {
  if (ctx.shared.wideStore) return ctx.shared.wideStore;
  const n = ctx.sizes.wide;
  const store = await freshStore(path.join(ctx.dir('wide'), 'store'), ['wide', 'tiny']);
  log(`building /dir with ${n.toLocaleString('en')} entries through the store API (untimed)`);
  await putSyntheticTree(store, 'wide', Array.from({ length: n }, (_, i) => `/dir/${entryName(i)}`), { seed: 'wide' });
  await putSyntheticTree(store, 'tiny', Array.from({ length: 10 }, (_, i) => `/dir/${entryName(i)}`), { seed: 'wide' });
  const files = await withStore(store, async (s) => (await s.inspectFile({ repo: 'wide', branch: 'master', path: '/dir' })).files);
  if (files !== n) throw new Error(`synthetic directory has ${files} files, expected ${n}`);
  ctx.shared.wideStore = store;
  return store;
}

// Opening the store a project command works on: the project's (tusk.yaml `store:`, TUSK_STORE or
// a `.tusk` above it), or, outside a project, the one found from the working directory.
import { openStore, type Store } from '../store/store.js';
import { projectStorePath, tryFindProject, type Project } from './config.js';

/** Run `fn` with the project at or above `cwd` (if any) and its store, closing the store after. */
export async function withProjectStore<T>(cwd: string, fn: (store: Store, project: Project | undefined) => Promise<T> | T, opts: { readonly?: boolean } = {}): Promise<T> {
  const project = tryFindProject(cwd);
  const store = project ? openStore({ path: projectStorePath(project), readonly: opts.readonly }) : openStore({ cwd, readonly: opts.readonly });
  try {
    return await fn(store, project);
  } finally {
    store.close();
  }
}

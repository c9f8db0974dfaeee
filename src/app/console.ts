// The web console as the `console` command starts it: read-only, on the store of an open Tusk.
import { startConsole as start, type ConsoleOptions } from '../console/server.js';
import type { Tusk } from './tusk.js';

export { DEFAULT_HOST, DEFAULT_PORT } from '../console/server.js';
export { isLoopbackHost, newToken } from '../console/security.js';

/** Serve the console for `tusk`'s store until the returned server is closed. */
export function startConsole(tusk: Tusk, opts: Omit<ConsoleOptions, 'data' | 'pipelines'>) {
  return start({ ...opts, data: tusk.data, pipelines: tusk.pipelines });
}

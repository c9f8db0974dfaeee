// Compiles the native helpers, both optional:
// - src/native/tusk-ns.c, the namespace helper that gives pipeline code a real /pfs; without it
//   tusk falls back to a slower shell-based namespace, or to rewriting /pfs paths, and says so in
//   the job logs;
// - src/native/tusk-io.c, an addon for file-system calls Node lacks (fallocate); without it big
//   files are written without reserving their blocks first, a little slower.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux') process.exit(0);
const out = join(root, 'dist', 'native');
mkdirSync(out, { recursive: true });
const cc = process.env.CC || 'cc';
const compile = (args) => spawnSync(cc, args, { stdio: 'inherit' }).status === 0;

if (!compile(['-O2', '-Wall', '-Wno-format-truncation', '-o', join(out, 'tusk-ns'), join(root, 'src', 'native', 'tusk-ns.c')])) {
  console.warn(`tusk: could not compile the namespace helper with ${cc}; pipelines will use the slower fallback`);
}

// Node's headers: beside the node binary (official builds and distribution packages), or where
// node-gyp keeps the ones it downloaded
const headers = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
  join(dirname(process.execPath), '..', 'include', 'node'),
  join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
].find((dir) => dir && existsSync(join(dir, 'node_api.h')));
if (!headers) console.warn("tusk: Node's headers were not found; big files will be written without reserving their blocks first");
else if (!compile(['-O2', '-Wall', '-shared', '-fPIC', '-I', headers, '-o', join(out, 'tusk-io.node'), join(root, 'src', 'native', 'tusk-io.c')])) {
  console.warn(`tusk: could not compile the file-system addon with ${cc}; big files will be written without reserving their blocks first`);
}

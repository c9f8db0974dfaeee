// Compiles the tiny namespace helper (src/native/tusk-ns.c) that gives pipeline code a real /pfs.
// Optional: without a C compiler tusk falls back to a slower shell-based namespace, or to
// rewriting /pfs paths, and says so in the job logs.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux') process.exit(0);
mkdirSync(join(root, 'dist', 'native'), { recursive: true });
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-Wno-format-truncation', '-o', join(root, 'dist', 'native', 'tusk-ns'), join(root, 'src', 'native', 'tusk-ns.c')], { stdio: 'inherit' });
if (r.status !== 0) console.warn(`tusk: could not compile the namespace helper with ${cc}; pipelines will use the slower fallback`);

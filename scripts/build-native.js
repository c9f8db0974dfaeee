// Compiles the native helpers, both optional:
// - src/native/tusk-ns.c, the namespace helper that gives pipeline code a real /pfs; without it
//   tusk falls back to a slower shell-based namespace, or to rewriting /pfs paths, and says so in
//   the job logs;
// - src/native/tusk-io.c, an addon for file-system calls Node lacks (fallocate) and, with the C
//   BLAKE3 compiled in, the hot loops of big transfers: the copy loop of get -o, the chunker of
//   big puts and the small-file reader of put -r; without it the same work is done in
//   JavaScript and wasm, a little slower.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const io = ['-O2', '-Wall', '-shared', '-fPIC', '-I', headers, '-o', join(out, 'tusk-io.node'), join(root, 'src', 'native', 'tusk-io.c')];
if (!headers) console.warn("tusk: Node's headers were not found; big files will be written without reserving their blocks first");
else if (!compile([...io, ...blake3Sources(), '-lpthread']) && !compile(io)) {
  console.warn(`tusk: could not compile the file-system addon with ${cc}; big files will be written without reserving their blocks first`);
}

// The C BLAKE3 the blake3 package ships (its native half builds from the same files): with it
// the addon also gets the copy loop, the chunker and the batch reader (tusk-io.c). The SIMD versions are picked at
// run time by blake3_dispatch.c; only x86-64 and arm64 have them.
function blake3Sources() {
  let dir;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('@c4312/blake3-native/package.json')), 'c');
  } catch {
    return [];
  }
  const c = (f) => join(dir, f);
  if (!existsSync(c('blake3.h'))) return [];
  const common = ['-DTUSK_BLAKE3', '-I', dir, c('blake3.c'), c('blake3_dispatch.c'), c('blake3_portable.c')];
  if (process.arch === 'x64') return [...common, ...['sse2', 'sse41', 'avx2', 'avx512'].map((k) => c(`blake3_${k}_x86-64_unix.S`))];
  if (process.arch === 'arm64') return [...common, '-DBLAKE3_USE_NEON=1', c('blake3_neon.c')];
  return [...common, '-DBLAKE3_NO_SSE2', '-DBLAKE3_NO_SSE41', '-DBLAKE3_NO_AVX2', '-DBLAKE3_NO_AVX512'];
}

// Bundles the CLI into dist/bundle/tusk.cjs: the oclif core, every command and the store in one
// script instead of ~230 files. Node's ESM loader costs ~0.3 ms per module (resolve, read,
// compile, link), which made module loading most of a command's start-up (`tusk list repo`:
// 160 ms, of which ~90 ms in the loader). Commands are handed to oclif through its "explicit"
// discovery strategy (package.json `oclif.commands`, the dist/bundle/commands.cjs shim), so
// running one evaluates nothing else.
//
// Why CommonJS: bin/run.js compiles the bundle with `vm.Script` and a V8 code cache
// (dist/bundle/tusk.cache, written at the end of this build), which took `tusk list repo` from
// 118 to 100 ms: V8 no longer compiles ~1 MB of source, nor the functions a command runs, at
// every start. Node 20 has no code cache for ES modules. A script run by `vm` cannot call
// `import()` (Node wants an experimental flag for that), so the few dynamic imports left in the
// bundle (TensorFlow.js, oclif's plugin loading) are rewritten to call `__tImp`, which bin/run.js
// defines; the banner defines it too for a bundle loaded by plain `require` (oclif's manifest
// step, the shim without bin/run.js).
//
// What stays outside the bundle, loaded from node_modules when first needed: native addons (they
// locate their .node files relative to their own package), TensorFlow.js (large, and only the ML
// commands load it), and the oclif plugins (help and completion load their own copy of the core).
// The bundle sits one directory below dist/, like every tsc output directory, so paths the code
// resolves from import.meta.url (here: the bundle's own URL) hold in both layouts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
const entry = join(dist, 'bundle-entry.js');

const EXTERNAL = [
  'blake3',
  '@c4312/*',
  'zstd-napi',
  '@tensorflow/*',
  '@oclif/plugin-*',
  '@aws-sdk/*', // loaded by s3 remotes only (src/remote/s3-store.ts), not by every command
  'typescript', // the oclif core requires it only to run TypeScript sources in development
];

function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return commandFiles(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

// Each command is reached through a getter that require()s it: esbuild then wraps every command
// module (and what only it imports) in a lazy initializer, so starting `tusk list repo` evaluates
// the top level of list/repo.js and the store, not of all 54 commands and their dependencies.
// oclif reads one entry of COMMANDS per run (it takes ids and flags from oclif.manifest.json).
const commands = commandFiles(join(dist, 'commands')).sort();
const lines = [
  // the names bin/run.js needs; the core is CommonJS, so `export *` would export nothing
  "export { Config, Errors, flush, handle, run } from '@oclif/core';",
  'export const COMMANDS = {};',
  'const command = (id, load) => Object.defineProperty(COMMANDS, id, { enumerable: true, get: () => load().default });',
];
for (const file of commands) {
  const rel = relative(join(dist, 'commands'), file).slice(0, -'.js'.length);
  const id = rel.split(sep).filter((w) => w !== 'index').join(':');
  lines.push(`command(${JSON.stringify(id)}, () => require('./${relative(dist, file).split(sep).join('/')}'));`);
}
writeFileSync(entry, lines.join('\n') + '\n');

// The oclif core checks its own package.json `engines` when imported. Inside the bundle it cannot
// find that file (the check always failed, silently), and it cost ~3 ms of every start loading
// semver. npm enforces tusk's own `engines` at install.
const dropEngineCheck = {
  name: 'drop-oclif-engine-check',
  setup(b) {
    b.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/]index\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      if (!source.includes('\ncheckNodeVersion();\n')) throw new Error(`${path}: the engine check moved; update scripts/bundle.js`);
      return { contents: source.replace('\ncheckNodeVersion();\n', '\n'), loader: 'js' };
    });
  },
};

// src/store/meta-db.ts requires better-sqlite3 through createRequire (see there); a plain
// require here puts the package's JavaScript into the bundle and its code cache. Its addon is
// named to it by path, so the `bindings` lookup it would otherwise make is never reached.
const bundleSqlite = {
  name: 'bundle-better-sqlite3',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]store[\\/]meta-db\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      const call = "const Database = req('better-sqlite3');";
      if (!source.includes(call)) throw new Error(`${path}: the better-sqlite3 require moved; update scripts/bundle.js`);
      return { contents: source.replace(call, "const Database = require('better-sqlite3');"), loader: 'js', resolveDir: dirname(path) };
    });
  },
};

// pg decides at load whether it runs in a Cloudflare Worker; on Node 20 (no `navigator`) it does
// so by constructing a fetch `Response`, which loads Node's undici: ~25 ms of every team-store
// command's start. The bundle only ever runs on Node.
const pgOnNode = {
  name: 'pg-on-node',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      const check = '  if (isCloudflareRuntime()) {';
      if (!source.includes(check)) throw new Error(`${path}: pg's runtime check moved; update scripts/bundle.js`);
      return { contents: source.replace(check, '  if (false) {'), loader: 'js' };
    });
  },
};

rmSync(out, { recursive: true, force: true });
try {
  await build({
    entryPoints: { tusk: entry },
    outdir: out,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: ['node20'],
    external: EXTERNAL,
    plugins: [dropEngineCheck, bundleSqlite, pgOnNode],
    // every module's import.meta.url is the bundle's own (as with one ESM bundle file)
    define: { 'import.meta.url': '__tuskMetaUrl' },
    // `import (s)`, spaced: the rewrite below leaves this one call alone. "use strict" first: the
    // directive esbuild writes comes after the banner, where it would mean nothing, and the
    // bundle must stay strict code, as the ES modules it is made of are
    banner: { js: "\"use strict\"; var __tuskMetaUrl = require('node:url').pathToFileURL(__filename).href; globalThis.__tImp ??= (s) => import (s);" },
    // smaller source parses faster at every start (~20 ms for 1.3 MB); names are kept, so stack
    // traces stay readable, and the source map maps them back
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
} finally {
  rmSync(entry, { force: true });
}

// `import(` as code, not inside a string or a longer name: the dynamic imports to reroute
const bundleFile = join(out, 'tusk.cjs');
const IMPORT_CALL = /(?<![\w$."'`])import\(/g;
const source = readFileSync(bundleFile, 'utf8');
const calls = source.match(IMPORT_CALL)?.length ?? 0;
if (calls === 0 || calls > 16) throw new Error(`${bundleFile}: ${calls} dynamic imports found, expected a few; check IMPORT_CALL`);
// `__tImp(` has the length of `import(`: no column moves, so the source map still holds
writeFileSync(bundleFile, source.replace(IMPORT_CALL, '__tImp('));
// oclif loads commands from this shim: the bundle bin/run.js already compiled, else its own copy
writeFileSync(join(out, 'commands.cjs'), "module.exports = globalThis.__tusk ?? require('./tusk.cjs');\n");

// The code cache: start the CLI (as users do) and let it write what V8 compiled on the way. It
// runs a few everyday read commands, in one process, on a store made for it: a cache that also
// holds the code that opens a store, resolves a commit, reads a file and prints a table saved
// ~5 ms of every such command over one written by `--version` (start-up alone). V8 loads the
// whole cache at every start, so it holds only these: adding the write path (put) made the
// commands that do not write slower again.
const scratch = mkdtempSync(join(tmpdir(), 'tusk-code-cache-'));
try {
  const store = join(scratch, 'store');
  const file = join(scratch, 'data.csv');
  writeFileSync(file, 'a,b\n1,2\n');
  const tusk = (args, env = {}) =>
    spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...args], { env: { ...process.env, TUSK_STORE: store, ...env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  // the store first, then the cache run; a failure anywhere only costs the cache, not the build
  const setup = [['init', store], ['create', 'repo', 'data'], ['put', 'file', 'data@master:/data.csv', '-f', file]];
  const runs = [['list', 'repo'], ['list', 'file', 'data@master'], ['get', 'file', 'data@master:/data.csv', '-o', join(scratch, 'out.csv')]];
  const steps = [...setup.map((args) => [args, {}]), [[], { TUSK_WRITE_CODE_CACHE: '1', TUSK_CODE_CACHE_RUNS: JSON.stringify(runs) }]];
  for (const [args, env] of steps) {
    const r = tusk(args, env);
    if (r.status === 0) continue;
    console.warn(`${r.stderr}\ntusk: could not write the code cache (tusk ${args.join(' ') || 'in cache mode'} failed); the CLI starts ~20 ms slower`);
    break;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

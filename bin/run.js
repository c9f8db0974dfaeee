#!/usr/bin/env node
// tusk's entry point. Like oclif's `execute`, except that exit codes are set rather than forced:
// process.exit() can cut off output still queued for a pipe, so the process ends on its own.
import { subscribe } from 'node:diagnostics_channel';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

// V8 grows the young generation to 16 MiB semi-spaces (48 MiB of heap, most of it touched) in any
// command that allocates steadily, such as a listing of a million entries or a put of a big tree:
// that alone put a streamed listing past its memory bound. Kept at its first size, scavenges are
// more frequent but each is as cheap (they cost what survives, and streamed rows do not), so the
// CPU time of the big paths is unchanged. Set before the bundle is loaded, while the heap is small.
// V8 puts the factor back to its default whenever it sets up a heap, and a worker thread's start
// sets one up: set again once the content worker (put -r, big puts and gets) has started, or this
// thread's young generation grows to 32 MiB after all (src/store/worker-link.ts tells).
const KEEP_YOUNG_GENERATION = '--semi-space-growth-factor=1';
v8.setFlagsFromString(KEEP_YOUNG_GENERATION);
subscribe('tusk:content-worker-started', () => v8.setFlagsFromString(KEEP_YOUNG_GENERATION));

// tusk runs built JavaScript only. Under NODE_ENV=development or test (a test runner sets the
// latter for everything it starts) oclif looks for each plugin's and command's TypeScript source
// to transpile instead: `tusk list repo` took 786 ms of CPU with NODE_ENV=test against 327 ms
// without. Its settings object is global, shared with the help plugins' own copy of the core.
globalThis.oclif = { ...globalThis.oclif, enableAutoTranspile: false };

const { Config, Errors, flush, handle, run } = loadBundle();

const argv = process.argv.slice(2);

// The build's code-cache run (scripts/bundle.js) runs several commands in this one process, so
// that the cache holds what commands compile on their way, not only what start-up does.
const runs = process.env.TUSK_WRITE_CODE_CACHE === '1' && process.env.TUSK_CODE_CACHE_RUNS ? JSON.parse(process.env.TUSK_CODE_CACHE_RUNS) : [argv];
for (const args of runs) {
  try {
    await run(args, import.meta.url);
    await flush();
  } catch (err) {
    await fail(err);
  }
}

async function fail(err) {
  if (err instanceof Errors.ExitError) {
    // The command already printed its error (src/cli/base.ts); only the exit code is left.
    await flush();
    process.exitCode = err.oclif.exit ?? 1;
    return;
  }
  const notFound = err instanceof Errors.CLIError ? /^command (.+) not found$/.exec(err.message) : null;
  if (notFound) return commandNotFound(notFound[1]);
  await handle(err);
}

// With a space as topic separator, oclif reads `tusk list repo extra` as the command
// `list:repo:extra`. Run the longest known prefix with the rest as its arguments instead, so
// the command itself reports the unexpected argument (exit 2).
async function commandNotFound(id) {
  const words = id.split(':');
  const config = await Config.load(import.meta.url);
  for (let n = words.length - 1; n > 0; n--) {
    const prefix = words.slice(0, n).join(':');
    if (!config.findCommand(prefix)) continue;
    try {
      await config.runCommand(prefix, [...words.slice(n), ...argv.slice(words.length)]);
      await flush();
    } catch (err) {
      await fail(err);
    }
    return;
  }
  const message = `command ${words.join(' ')} not found`;
  const hint = 'run `tusk --help` to see the commands';
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ error: { code: 'E_INVALID', message, hint } }, null, 2) + '\n');
  } else {
    process.stderr.write(`Error: ${message}\nHint: ${hint}\n`);
  }
  process.exitCode = 2;
}

/**
 * dist/bundle/tusk.cjs, compiled with the V8 code cache the build wrote beside it (see
 * scripts/bundle.js): ~20 ms less at every start than compiling ~1 MB of source. A cache from
 * another Node or V8 is rejected by V8 itself and the source compiled as usual.
 */
function loadBundle() {
  const file = fileURLToPath(new URL('../dist/bundle/tusk.cjs', import.meta.url));
  const cacheFile = file.replace(/\.cjs$/, '.cache');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // not built: compile without it
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`, { filename: file, cachedData });
  // the bundle's dynamic imports (scripts/bundle.js): a vm script cannot make them itself
  globalThis.__tImp = (specifier) => import(specifier);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  // oclif takes the commands from dist/bundle/commands.cjs, which hands over this same instance
  globalThis.__tusk = module.exports;
  if (process.env.TUSK_WRITE_CODE_CACHE === '1') {
    // the build's cache run: what V8 compiled up to exit, over every command it ran, goes into the cache
    process.on('exit', () => {
      writeFileSync(`${cacheFile}.tmp`, script.createCachedData());
      renameSync(`${cacheFile}.tmp`, cacheFile);
    });
  }
  return module.exports;
}

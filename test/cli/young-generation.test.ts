// bin/run.js keeps V8's young generation at its first size (a flag set at start). Starting a
// worker thread sets up a heap, which puts that flag back to its default: put -r starts the
// content worker, and its young generation then grew to 16 MiB semi-spaces, tens of MiB of peak
// RSS on a tree of 100,000 files. The CLI sets the flag again once the worker has started.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { expectOk, REPO_ROOT, type StoreDir, withStoreDir } from './cli-helpers.js';

// enough allocation that a young generation free to grow does (to 4 MiB at 1,000 files, 8 at 3,000)
const FILES = 3000;
const PROBE = path.join(REPO_ROOT, 'bench', 'heap-probe.cjs');

let s: StoreDir;
let tree: string;

/** The young generation's size (bytes) when `args` exits. */
async function youngGeneration(args: string[]): Promise<number> {
  const out = path.join(s.dir, 'heap.out');
  fs.rmSync(out, { force: true });
  // TUSK_WORKER=1: a content worker that cannot start fails the put instead of going unnoticed
  expectOk(await s.tusk(args, { env: { NODE_OPTIONS: `--require ${PROBE}`, TUSK_BENCH_HEAP_OUT: out, TUSK_WORKER: '1' } }));
  const bytes = Number(fs.readFileSync(out, 'utf8').trim());
  expect(bytes).toBeGreaterThan(0);
  return bytes;
}

describe('the young generation through put -r', () => {
  beforeAll(async () => {
    s = await withStoreDir();
    tree = tempDir('tusk-young-');
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(tree, `d${i % 10}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `f${i}`), Buffer.alloc(1024 + ((i * 37) % 7000), i % 251));
    }
    expectOk(await s.tusk(['create', 'repo', 'r']));
  }, 60_000);

  afterAll(() => {
    s?.cleanup();
    if (tree) fs.rmSync(tree, { recursive: true, force: true });
  });

  // Between the worker's heap set-up and its first reply the default is in force: a loaded machine
  // stretches that window enough for one doubling; free to grow, it doubles at least twice here.
  it('stays within one doubling of a command that starts no worker', async () => {
    const first = await youngGeneration(['list', 'repo']);
    const put = await youngGeneration(['put', 'file', '-r', 'r@master:/t', '-f', tree]);
    expect(put, `young generation after put -r of ${FILES} files: ${put} bytes, after list repo: ${first}`).toBeLessThanOrEqual(2 * first);
  }, 60_000);
});

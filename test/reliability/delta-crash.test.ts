// A put that stores a new version of a big table as deltas, killed (SIGKILL) at the write path's
// named points: nothing acknowledged is lost (every earlier version reads back), fsck is clean,
// and the next put, get -o (the big-file paths: content worker, native copy loop), range reads and
// gc work. Through the built CLI, as a user would see it; vitest's team project runs it again on a
// team store (test/helpers/store-kind.ts), where the same kills must leave the database and bucket as clean.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withStoreDir, type StoreDir } from '../cli/cli-helpers.js';
import { STORE_KIND } from '../helpers/store-kind.js';
import { tableVersions } from '../store/table-versions.js';

// past PARALLEL_MIN_BYTES (16 MiB): puts cut on the content worker, get -o copies natively
const versions = tableVersions(17 << 20, 3, 11);
let s: StoreDir;
const file = (i: number) => path.join(s.dir, `v${i + 1}.csv`);
const commits: string[] = [];

beforeAll(async () => {
  s = await withStoreDir();
  versions.forEach((v, i) => fs.writeFileSync(file(i), v));
  await s.json(['create', 'repo', 'r']);
  for (const i of [0, 1]) commits.push((await s.json<{ commit: string }>(['put', 'file', 'r@master:/t.csv', '-f', file(i)])).commit);
}, 120_000);

afterAll(() => s?.cleanup());

async function expectVersion(ref: string, i: number): Promise<void> {
  const r = await s.tusk(['get', 'file', ref], { timeoutMs: 60_000 });
  expect(r.code, r.describe()).toBe(0);
  expect(r.stdoutBytes.equals(versions[i]!), `${ref} is version ${i + 1}`).toBe(true);
}

async function expectClean(): Promise<void> {
  const report = await s.json<{ ok: boolean; problems: unknown[] }>(['fsck', '--verify-data'], { timeoutMs: 60_000 });
  expect(report.problems).toEqual([]);
}

describe.sequential('a delta write killed at each named point', () => {
  for (const point of ['mid-pack-write', 'in-commit-txn']) {
    it(`${point}: the versions put before stay, fsck is clean`, async () => {
      const r = await s.tusk(['put', 'file', 'r@master:/t.csv', '-f', file(2)], { env: { TUSK_CRASH_AT: point }, timeoutMs: 60_000 });
      expect(r.code, `the crash point must be reached: ${r.describe()}`).toBe(137);
      await expectClean();
      await expectVersion('r@master:/t.csv', 1);
    }, 120_000);
  }

  it('afterwards the put goes through, every version reads back (whole, -o, by range), gc leaves a clean store', async () => {
    const put = await s.json<{ commit: string; storedBytes: number }>(['put', 'file', 'r@master:/t.csv', '-f', file(2)]);
    // deltas are written where packs are on a local disk (docs/format.md, "Deltas"): a team store's
    // are in a bucket, and it stores the new version's chunks on their own
    if (STORE_KIND === 'local') expect(put.storedBytes).toBeLessThan(versions[2]!.length * 0.03);
    const out = path.join(s.dir, 'out.csv');
    for (const [i, c] of [...commits, put.commit].entries()) {
      if (i === 1) continue; // read after each crash
      const got = await s.tusk(['get', 'file', `r@${c}:/t.csv`, '-o', out], { timeoutMs: 60_000 });
      expect(got.code, got.describe()).toBe(0);
      expect(fs.readFileSync(out).equals(versions[i]!), `version ${i + 1} through -o`).toBe(true);
    }
    const offset = 5_000_000;
    const range = await s.tusk(['get', 'file', 'r@master:/t.csv', '--offset', String(offset), '--length', String(1 << 20)]);
    expect(range.code, range.describe()).toBe(0);
    expect(range.stdoutBytes.equals(versions[2]!.subarray(offset, offset + (1 << 20)))).toBe(true);
    const bad = await s.tusk(['get', 'file', '-r', 'r@master:/', '-o', path.join(s.dir, 'tree'), '--length', '10']);
    expect(bad.code, bad.describe()).toBe(2);
    expect(bad.stderr).toContain('--length');
    await s.json(['gc']);
    await expectClean();
    await expectVersion('r@master:/t.csv', 2);
  }, 180_000);
});

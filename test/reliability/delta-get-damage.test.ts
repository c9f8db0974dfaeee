// get -o of a big file stored as deltas, through the built CLI: its delta chunks are not hashed one
// by one (the copy loop hashes the whole file), so a damaged delta that still decodes, to the
// right length but to other bytes, must be caught by the whole-file hash and named, with the file
// written again the careful way: never wrong bytes, a non-zero exit, and the version it does not
// touch still reads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChunk } from '../../src/store/content-io.js';
import { decodeDelta } from '../../src/store/delta-codec.js';
import type { ChunkId } from '../../src/store/hash.js';
import { Codec, RECORD_HEADER_BYTES } from '../../src/store/pack-format.js';
import { openStore } from '../../src/store/store.js';
import { withStoreDir, type StoreDir } from '../cli/cli-helpers.js';
import { tableVersions } from '../store/table-versions.js';

// past PARALLEL_MIN_BYTES (16 MiB): get -o takes the big-file paths (the native copy loop where the addon is built)
const versions = tableVersions(17 << 20, 2, 5);
let s: StoreDir;
const commits: string[] = [];

beforeAll(async () => {
  s = await withStoreDir();
  await s.json(['create', 'repo', 'r']);
  for (const [i, v] of versions.entries()) {
    const f = path.join(s.dir, `v${i + 1}.csv`);
    fs.writeFileSync(f, v);
    commits.push((await s.json<{ commit: string }>(['put', 'file', 'r@master:/t.csv', '-f', f])).commit);
  }
}, 120_000);

afterAll(() => s?.cleanup());

/**
 * A byte of a delta record of version 2 that, flipped, still decodes to a chunk of the right
 * length but not to its bytes: the pack file and offset to flip.
 */
async function quietDamage(): Promise<{ pack: string; at: number }> {
  const store = openStore({ path: path.join(s.dir, '.tusk') });
  try {
    const rows = store.core.db
      .prepare(`SELECT c.id, c.offset, c.stored_len AS storedLen, c.raw_len AS rawLen, p.name FROM chunks c JOIN packs p ON p.id = c.pack WHERE c.codec = ${Codec.Delta} ORDER BY c.offset LIMIT 8`)
      .all() as { id: Buffer; offset: number; storedLen: number; rawLen: number; name: string }[];
    const ctx = { describe: () => 'a base' };
    for (const row of rows) {
      const pack = path.join(store.core.path, 'packs', row.name.slice(0, 2), `${row.name}.pack`);
      const payload = Buffer.alloc(row.storedLen);
      const fd = fs.openSync(pack, 'r');
      fs.readSync(fd, payload, 0, payload.length, row.offset + RECORD_HEADER_BYTES);
      fs.closeSync(fd);
      const bases = store.core.db.prepare('SELECT base FROM chunk_deltas WHERE id = ?').pluck().all(row.id) as ChunkId[];
      if (bases.length !== 1 || payload[0] !== 1) continue;
      const ref = Buffer.from(await readChunk(store.core.index, store.core.packs, bases[0]!, ctx));
      const good = Buffer.from(decodeDelta(payload, row.rawLen, ref));
      // from the end of the frame back: its last bytes are literals and sequences, not its header
      for (let k = payload.length - 1; k > payload.length - 200 && k > 33; k--) {
        payload[k]! ^= 0x01;
        let out: Buffer | null = null;
        try {
          out = Buffer.from(decodeDelta(payload, row.rawLen, ref));
        } catch {
          out = null;
        }
        payload[k]! ^= 0x01;
        if (out && !out.equals(good)) return { pack, at: row.offset + RECORD_HEADER_BYTES + k };
      }
    }
    throw new Error('no byte of the first delta records decodes quietly to other bytes');
  } finally {
    store.close();
  }
}

describe('get -o of a damaged delta', () => {
  it('is an E_CORRUPT naming the file, never other bytes; the first version still reads', async () => {
    const { pack, at } = await quietDamage();
    const fd = fs.openSync(pack, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0]! ^= 0x01;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);

    const out = path.join(s.dir, 'out.csv');
    const r = await s.tusk(['get', 'file', `r@${commits[1]}:/t.csv`, '-o', out], { timeoutMs: 60_000 });
    expect(r.code, r.describe()).toBe(5);
    expect(r.stderr).toContain('/t.csv');
    expect(fs.existsSync(out) && fs.readFileSync(out).equals(versions[1]!)).toBe(false);
    if (fs.existsSync(out)) expect(fs.statSync(out).size, 'no bytes of a file that did not check out are left').toBe(0);

    const first = path.join(s.dir, 'first.csv');
    const ok = await s.tusk(['get', 'file', `r@${commits[0]}:/t.csv`, '-o', first], { timeoutMs: 60_000 });
    expect(ok.code, ok.describe()).toBe(0);
    expect(fs.readFileSync(first).equals(versions[0]!)).toBe(true);
  }, 120_000);
});

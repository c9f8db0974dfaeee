// Which chunks the delta records of a remote pack are decoded against. An index of the current
// format says so itself; for one of the first format the pack's records are read once and the
// answer kept in the local cache (`.tusk/remotes/<name>/delta-bases/`): packs never change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recordBases } from '../store/store.js';
import { packKey, type IndexEntry } from './layout.js';
import type { ObjectStore } from './object-store.js';

/** The bases of each delta record of pack `sha`, by chunk id (latin1); chunks stored whole are absent. */
export async function packDeltaBases(os: ObjectStore, cacheDir: string, sha: string, entries: readonly IndexEntry[]): Promise<Map<string, Buffer[]>> {
  const out = new Map<string, Buffer[]>();
  if (entries.every((e) => e.bases !== undefined)) {
    for (const e of entries) if (e.bases!.length > 0) out.set(e.id.toString('latin1'), e.bases!);
    return out;
  }
  const file = path.join(cacheDir, 'delta-bases', sha);
  try {
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string[]>;
    for (const [id, bases] of Object.entries(cached)) out.set(Buffer.from(id, 'hex').toString('latin1'), bases.map((b) => Buffer.from(b, 'hex')));
    return out;
  } catch {
    // not cached yet
  }
  if (entries.length > 0) {
    const end = Math.max(...entries.map((e) => e.offset + e.length));
    const buf = await os.getRange(packKey(sha), 0, end);
    for (const e of entries) {
      const bases = recordBases(buf.subarray(e.offset, e.offset + e.length));
      if (bases.length > 0) out.set(e.id.toString('latin1'), bases);
    }
  }
  const json: Record<string, string[]> = {};
  for (const [id, bases] of out) json[Buffer.from(id, 'latin1').toString('hex')] = bases.map((b) => b.toString('hex'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(json));
  return out;
}

// Where a store's packs live, recorded in `.tusk/packs.json` when they are not in its own `packs/`
// directory: a URL (`s3://BUCKET/PREFIX` or `file:///DIR`) and the options an S3-compatible server
// needs. Never a secret: credentials come from the environment or an AWS profile when the store is
// opened. The store only records and compares it; the composition root (src/app) turns it into a
// pack backend.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptError } from '../errors.js';

export const PACK_LOCATION_FILE = 'packs.json';

/** Packs in an object store: its URL and how to reach it. */
export interface PackLocation {
  url: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  checksums?: 'when-supported' | 'when-required';
}

const FIELDS = ['url', 'endpoint', 'region', 'pathStyle', 'checksums'] as const;

/** The location recorded in the store at `storePath`, or undefined when its packs are its own `packs/`. */
export function readPackLocation(storePath: string): PackLocation | undefined {
  const file = path.join(storePath, PACK_LOCATION_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parsePackLocation(text, () => new CorruptError(`${file} does not say where this store's packs are`, `restore it: it holds {"url": "s3://BUCKET/PREFIX", …} as \`tusk init --packs\` wrote it`));
}

/** Record `loc` in the store directory `storePath` (written whole or not at all). */
export function writePackLocation(storePath: string, loc: PackLocation): void {
  const file = path.join(storePath, PACK_LOCATION_FILE);
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(tmp, JSON.stringify(packLocationFields(loc), null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** Whether two locations name the same packs reached the same way. */
export function samePackLocation(a: PackLocation, b: PackLocation): boolean {
  return FIELDS.every((k) => a[k] === b[k]);
}

/** The location for messages: the URL, and the endpoint when there is one. */
export function describePackLocation(loc: PackLocation): string {
  return loc.endpoint ? `${loc.url} (endpoint ${loc.endpoint})` : loc.url;
}

/** A location as JSON text wrote it (packs.json, a team store's row): its known fields, or `bad()` thrown. */
export function parsePackLocation(text: string, bad: () => Error): PackLocation {
  let loc: unknown;
  try {
    loc = JSON.parse(text);
  } catch {
    loc = undefined;
  }
  if (typeof loc !== 'object' || loc === null || typeof (loc as PackLocation).url !== 'string') throw bad();
  return packLocationFields(loc as PackLocation);
}

/** Only the fields a location has (what is written down: no stray keys of an options object). */
export function packLocationFields(loc: PackLocation): PackLocation {
  const out: PackLocation = { url: loc.url };
  for (const k of FIELDS) if (loc[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = loc[k];
  return out;
}

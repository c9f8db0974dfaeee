// The encoding of a tree page (docs/format.md): a leaf holds entries, an internal page refs to the
// pages below it. A page's id is the BLAKE3 hash of these bytes.
import { CorruptError } from '../errors.js';
import { ID_BYTES, type NodeId } from './hash.js';
import { ByteReader, ByteWriter } from './varint.js';

export type EntryKind = 'file' | 'dir';

/** One name in a directory: a file (id = content id) or a subdirectory (id = its root page id). */
export interface Entry {
  readonly name: string;
  readonly kind: EntryKind;
  readonly id: Buffer;
  /** bytes of the file, or of every file below the directory */
  readonly size: number;
  /** 1 for a file, number of files below a directory */
  readonly files: number;
  /** datum that produced this file, for pipeline outputs */
  readonly datum?: string;
}

/** Reference to a page from its parent. */
export interface PageRef {
  readonly key: string; // first name in the subtree
  readonly lastHeight: number; // height of the last name in the subtree: decides where the parent cuts
  readonly id: NodeId;
  readonly entries: number;
  readonly size: number;
  readonly files: number;
}

export type Page = { level: 0; entries: Entry[] } | { level: number; children: PageRef[] };

const LEAF = 1;
const INTERNAL = 2;
const FLAG_DIR = 1;
const FLAG_DATUM = 2;
const MAX_HEIGHT = 5;

const ASCII = /^[\x00-\x7f]*$/;

/** Height of a name: trailing zero 6-bit groups of a 32-bit hash (murmur3 finalizer over FNV-1a of its UTF-8 bytes). */
export function nameHeight(name: string): number {
  let h = 0x811c9dc5;
  // an ASCII name's code units are its UTF-8 bytes: no encoding needed
  if (ASCII.test(name)) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  } else {
    for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  let height = 0;
  while (height < MAX_HEIGHT && (h & 63) === 0) {
    height++;
    h >>>= 6;
  }
  return height;
}

export function encodePage(page: Page): Buffer {
  const w = new ByteWriter();
  if (page.level === 0) {
    const { entries } = page as { entries: Entry[] };
    w.byte(LEAF);
    w.uint(entries.length);
    for (const e of entries) {
      w.str(e.name);
      w.byte((e.kind === 'dir' ? FLAG_DIR : 0) | (e.datum ? FLAG_DATUM : 0));
      w.bytes(e.id);
      w.uint(e.size);
      if (e.kind === 'dir') w.uint(e.files);
      if (e.datum) w.str(e.datum);
    }
  } else {
    const { children, level } = page as { level: number; children: PageRef[] };
    w.byte(INTERNAL);
    w.uint(level);
    w.uint(children.length);
    for (const c of children) {
      w.str(c.key);
      w.byte(c.lastHeight);
      w.bytes(c.id);
      w.uint(c.entries);
      w.uint(c.size);
      w.uint(c.files);
    }
  }
  return w.finish();
}

export function decodePage(data: Buffer, id?: NodeId): Page {
  try {
    const r = new ByteReader(data);
    const type = r.byte();
    if (type === LEAF) {
      const n = r.uint();
      const entries: Entry[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const name = r.str();
        const flags = r.byte();
        const eid = Buffer.from(r.bytes(ID_BYTES));
        const size = r.uint();
        const kind: EntryKind = flags & FLAG_DIR ? 'dir' : 'file';
        const files = kind === 'dir' ? r.uint() : 1;
        const datum = flags & FLAG_DATUM ? r.str() : undefined;
        entries[i] = datum ? { name, kind, id: eid, size, files, datum } : { name, kind, id: eid, size, files };
      }
      return { level: 0, entries };
    }
    if (type === INTERNAL) {
      const level = r.uint();
      const n = r.uint();
      const children: PageRef[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const key = r.str();
        const lastHeight = r.byte();
        const cid = Buffer.from(r.bytes(ID_BYTES)) as NodeId;
        children[i] = { key, lastHeight, id: cid, entries: r.uint(), size: r.uint(), files: r.uint() };
      }
      return { level, children };
    }
    throw new Error(`unknown page type ${type}`);
  } catch (err) {
    throw new CorruptError(`tree page ${id ? id.toString('hex') : '?'} cannot be decoded: ${(err as Error).message}`, 'run `tusk fsck`');
  }
}


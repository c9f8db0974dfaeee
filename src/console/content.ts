// File contents for the console: streamed to HTTP responses with backpressure, or read only as far
// as a preview needs (the first rows of a CSV, the first KiB of text). Nothing buffers a whole file.
import type { ServerResponse } from 'node:http';
import type { FileRef } from '../store/address.js';
import type { FileInfo } from '../store/types.js';
import type { Preview, PreviewKind } from './api-types.js';
import type { ConsoleData } from './services.js';

/** Thrown by a sink to stop a read early; never escapes this module. */
class StopReading extends Error {}

/**
 * The subset of a writable stream that Store.getFile writes to. Store.getFile reads chunk by chunk
 * and only pulls the next one after `write`, so throwing from `write` stops the read there.
 */
interface ChunkSink {
  write(b: Buffer): boolean;
  once(event: 'drain', cb: () => void): unknown;
}

/**
 * Call `onChunk` with the file's bytes until it returns false. Returns the bytes seen and whether
 * the whole file was read.
 */
export async function readWhile(store: ConsoleData, ref: FileRef, onChunk: (b: Buffer) => boolean): Promise<{ bytes: number; complete: boolean }> {
  let bytes = 0;
  const sink: ChunkSink = {
    write(b) {
      bytes += b.length;
      if (!onChunk(b)) throw new StopReading();
      return true;
    },
    once: () => undefined,
  };
  try {
    await store.getFile(ref, { stdout: sink as unknown as NodeJS.WritableStream });
    return { bytes, complete: true };
  } catch (err) {
    if (err instanceof StopReading) return { bytes, complete: false };
    throw err;
  }
}

/** The first `max` bytes of a file (fewer if it is shorter). */
export async function readHead(store: ConsoleData, ref: FileRef, max: number): Promise<{ data: Buffer; complete: boolean }> {
  const parts: Buffer[] = [];
  let held = 0;
  const { complete } = await readWhile(store, ref, (b) => {
    const take = Math.min(b.length, max - held);
    parts.push(take === b.length ? b : b.subarray(0, take));
    held += take;
    return held < max;
  });
  // (a file exactly `max` long reads as incomplete: callers that know the size check it)
  return { data: Buffer.concat(parts, held), complete };
}

/** Write a file to an HTTP response, waiting for the client to drain; stops if the client goes away. */
export async function streamToResponse(store: ConsoleData, ref: FileRef, res: ServerResponse): Promise<void> {
  let gone = false;
  res.once('close', () => (gone = true));
  const sink: ChunkSink = {
    write(b) {
      if (gone || res.destroyed) throw new StopReading();
      return res.write(b);
    },
    once(_event, cb) {
      // a client that disconnects never drains: wake the reader so its next write stops it
      const wake = () => {
        res.off('drain', wake);
        res.off('close', wake);
        cb();
      };
      res.on('drain', wake);
      res.on('close', wake);
    },
  };
  try {
    await store.getFile(ref, { stdout: sink as unknown as NodeJS.WritableStream });
  } catch (err) {
    if (!(err instanceof StopReading)) throw err;
  }
  res.end();
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  ico: 'image/x-icon',
  avif: 'image/avif',
  svg: 'image/svg+xml',
};
const TEXT_EXTENSIONS = new Set(['txt', 'md', 'log', 'py', 'js', 'ts', 'sh', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'xml', 'html', 'css', 'c', 'h', 'go', 'rs', 'java', 'sql', 'jsonl', 'ndjson']);

function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/**
 * The Content-Type a raw file is served with. Anything a browser could run (HTML, SVG's scripts)
 * is also sandboxed by the caller's CSP; text is always served as text/plain.
 */
export function contentTypeOf(path: string): string {
  const ext = extensionOf(path);
  if (IMAGE_TYPES[ext]) return IMAGE_TYPES[ext]!;
  if (ext === 'json') return 'application/json; charset=utf-8';
  if (ext === 'csv') return 'text/csv; charset=utf-8';
  if (ext === 'tsv') return 'text/tab-separated-values; charset=utf-8';
  if (TEXT_EXTENSIONS.has(ext)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** Limits of what a preview reads. */
export const PREVIEW_LIMITS = { textBytes: 256 * 1024, jsonBytes: 1024 * 1024, csvBytes: 4 * 1024 * 1024, csvRows: 100, sniffBytes: 8 * 1024 } as const;

function looksBinary(b: Buffer): boolean {
  return b.subarray(0, PREVIEW_LIMITS.sniffBytes).includes(0);
}

// A multi-byte character cut at the end of a head is dropped rather than shown as U+FFFD.
function decodeHead(b: Buffer, complete: boolean): string {
  if (complete) return b.toString('utf8');
  let end = b.length;
  for (let i = b.length - 1; i >= 0 && i >= b.length - 4; i--) {
    const byte = b[i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte
    if (byte >= 0xc0) {
      const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      if (b.length - i < need) end = i;
    }
    break;
  }
  return b.subarray(0, end).toString('utf8');
}

/** Build the preview of a file: its kind by name (and a sniff for binary), and as much content as that kind shows. */
export async function previewFile(store: ConsoleData, ref: FileRef, file: FileInfo): Promise<Preview> {
  const ext = extensionOf(file.path);
  const base = { file, truncated: false, bytesRead: 0 };
  if (file.sizeBytes === 0) return { ...base, kind: 'empty' };
  if (IMAGE_TYPES[ext]) return { ...base, kind: 'image' };
  if (ext === 'csv' || ext === 'tsv') {
    const parser = new CsvParser(ext === 'tsv' ? '\t' : ',');
    let binary = false;
    const { bytes, complete } = await readWhile(store, ref, (b) => {
      if (parser.bytes === 0 && looksBinary(b)) {
        binary = true;
        return false;
      }
      parser.push(b);
      return parser.rows.length < PREVIEW_LIMITS.csvRows && parser.bytes < PREVIEW_LIMITS.csvBytes;
    });
    if (binary) return { ...base, kind: 'binary', bytesRead: bytes };
    if (complete) parser.end();
    return { ...base, kind: 'csv', rows: parser.rows.slice(0, PREVIEW_LIMITS.csvRows), truncated: !complete || parser.rows.length > PREVIEW_LIMITS.csvRows, bytesRead: bytes };
  }
  const max = ext === 'json' ? PREVIEW_LIMITS.jsonBytes : PREVIEW_LIMITS.textBytes;
  const { data } = await readHead(store, ref, max);
  const complete = data.length >= file.sizeBytes;
  if (looksBinary(data)) return { ...base, kind: 'binary', bytesRead: data.length };
  const text = decodeHead(data, complete);
  let kind: PreviewKind = 'text';
  if (ext === 'json' && complete) {
    try {
      JSON.parse(text);
      kind = 'json';
    } catch {
      // not valid JSON: shown as text
    }
  }
  return { ...base, kind, text, truncated: !complete, bytesRead: data.length };
}

/**
 * RFC 4180 CSV, fed in pieces: quoted fields may hold delimiters, quotes ("") and newlines;
 * CRLF and LF both end a row. Complete rows collect in `rows`.
 */
export class CsvParser {
  readonly rows: string[][] = [];
  bytes = 0;
  private row: string[] = [];
  private field = '';
  private quoted = false;
  private quoteSeen = false; // a quote inside a quoted field: either "" or the closing quote
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly delimiter = ',') {}

  push(b: Buffer): void {
    this.bytes += b.length;
    this.feed(this.decoder.decode(b, { stream: true }));
  }

  /** The input ended: a last row without a newline counts. */
  end(): void {
    this.feed(this.decoder.decode());
    if (this.quoteSeen) this.quoted = false;
    if (this.field !== '' || this.row.length > 0) this.endRow();
  }

  private feed(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (this.quoted) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (ch === '"') {
            this.field += '"';
            continue;
          }
          this.quoted = false; // that quote closed the field; fall through to handle ch
        } else if (ch === '"') {
          this.quoteSeen = true;
          continue;
        } else {
          this.field += ch;
          continue;
        }
      }
      if (ch === '"' && this.field === '') this.quoted = true;
      else if (ch === this.delimiter) this.endField();
      else if (ch === '\n') this.endRow();
      else if (ch !== '\r') this.field += ch;
    }
  }

  private endField(): void {
    this.row.push(this.field);
    this.field = '';
  }

  private endRow(): void {
    this.endField();
    this.rows.push(this.row);
    this.row = [];
  }
}

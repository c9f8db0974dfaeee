// Shared test helpers: real temp dirs, real stores, seeded data.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach } from 'vitest';
import { initStore, openStore, type Store } from '../src/store/store.js';
import type { LocalCore } from '../src/store/store-core.js';
import { RECORD_HEADER_BYTES } from '../src/store/pack-format.js';
import type { ChunkId } from '../src/store/hash.js';

export function tempDir(prefix = 'tusk-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** For a test file: `mk()` makes a temp directory, and every one made is removed after the file's tests. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
}

/** A fresh store in a temp dir; remove with `cleanup`. */
export function tempStore(): { dir: string; store: Store<LocalCore>; cleanup: () => void } {
  const dir = tempDir();
  initStore(dir);
  const store = openStore({ path: path.join(dir, '.tusk') });
  return {
    dir,
    store,
    cleanup: () => {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For a test file: a function giving a fresh store, each removed after the test that made it. */
export function tempStores(): () => Store<LocalCore> {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  return () => {
    const env = tempStore();
    cleanups.push(env.cleanup);
    return env.store;
  };
}

/** Deterministic pseudo-random bytes (xorshift), incompressible. */
export function seededBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export function streamOf(data: Buffer | string): NodeJS.ReadableStream {
  return Readable.from([Buffer.from(data)]);
}

/** Collect what getFile writes to "stdout". */
export async function readBack(store: Store, ref: Parameters<Store['getFile']>[0]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk, _enc, cb) {
      parts.push(Buffer.from(chunk));
      cb();
    },
  });
  await store.getFile(ref, { stdout: sink });
  return Buffer.concat(parts);
}

/** Every buffer of a read, joined. */
export async function allBytes(parts: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of parts) out.push(b);
  return Buffer.concat(out);
}

/** Flip one byte in the middle of a chunk's stored bytes, in its pack on disk. */
export async function damageChunk(store: Store, chunk: ChunkId): Promise<void> {
  const loc = (await store.core.index.getChunk(chunk))!;
  const pack = path.join(store.core.path, 'packs', loc.packName.slice(0, 2), `${loc.packName}.pack`);
  const fd = fs.openSync(pack, 'r+');
  try {
    const at = loc.offset + RECORD_HEADER_BYTES + Math.floor(loc.storedLen / 2);
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x40;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Changes to process.env that can be put back: `set` (undefined unsets a variable) remembers each
 * variable's value before its first change, `restore` puts them all back.
 */
export function processEnv(): { set(vars: Record<string, string | undefined>): void; restore(): void } {
  const saved: Record<string, string | undefined> = {};
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  return {
    set(vars) {
      for (const k of Object.keys(vars)) if (!(k in saved)) saved[k] = process.env[k];
      apply(vars);
    },
    restore() {
      apply(saved);
    },
  };
}

/** `obj` behind a proxy that counts the calls made to each of its methods (round-trip tests). */
export function counted<T extends object>(obj: T): { index: T; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(obj, {
    get(target, key, recv) {
      const v = Reflect.get(target, key, recv) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { index: proxy, calls };
}

/** A closed port on loopback: nothing answers there. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

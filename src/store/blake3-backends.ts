// The two BLAKE3 implementations the store hashes with, each where it is fastest.
//
// The `blake3` package's hash() builds, for every call, a stream.Transform wrapper around a new
// native hasher whose C++ state V8 does not see: a fixed cost per call whatever the size, and
// many small files leave hundreds of MiB of hashers waiting for a full GC. For small inputs the
// package's WebAssembly one-shot is the fastest and allocates no native memory; for large ones
// the native hasher called directly is (bench/README.md, "Figures behind the code").
//
// So inputs under SMALL_INPUT go to the WebAssembly build that ships with the package (one
// instance, input copied into its memory, nothing allocated per call) and larger ones to the
// native hasher directly. Both are checked against known digests when loaded; if either cannot
// be loaded or disagrees, the package's own functions are used.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';

export interface Blake3Backend {
  hash(input: Uint8Array): Buffer;
  createHash(): { update(data: Uint8Array): unknown; digest(): Buffer };
}

/** Below this many bytes the wasm one-shot is faster than a call into the native addon. */
export const SMALL_INPUT = 16 * 1024;

const require = createRequire(import.meta.url);

const KNOWN: readonly [string, string][] = [
  ['', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  ['abc', '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'],
];

function agrees(hash: (input: Uint8Array) => Buffer): boolean {
  try {
    return KNOWN.every(([input, hex]) => hash(Buffer.from(input)).toString('hex') === hex);
  } catch {
    return false;
  }
}

/** The package as published: always works, slowest per call. */
function packageBackend(): Blake3Backend {
  return require('blake3') as Blake3Backend;
}

/** The native addon's hasher without the stream wrapper. */
export function nativeBackend(): Blake3Backend {
  try {
    const native = require('@c4312/blake3-native/build/Release/blake3.node') as { createHash(): { update(d: Uint8Array): unknown; digest(): Buffer } };
    const backend: Blake3Backend = {
      hash(input) {
        const h = native.createHash();
        h.update(input);
        return h.digest();
      },
      createHash: () => native.createHash(),
    };
    return agrees(backend.hash) ? backend : packageBackend();
  } catch {
    return packageBackend();
  }
}

interface WasmExports {
  /** the module's memory */
  d: WebAssembly.Memory;
  /** __wasm_call_ctors */
  e(): void;
  /** hash_oneshot(input, inputLength, output, outputLength) */
  f(input: number, length: number, out: number, outLength: number): void;
  /** malloc */
  h(bytes: number): number;
}

/**
 * One instance of blake3-wasm's module, instantiated synchronously (the package's own loader is
 * async). Its exports are minified: the names are those of blake3-wasm 3.0.0, which package.json
 * pins; the known-digest check catches a build whose names mean something else.
 */
export function wasmOneShot(): ((input: Uint8Array) => Buffer) | null {
  try {
    const file = require.resolve('blake3-wasm/dist/wasm/blake3.wasm');
    let heap = new Uint8Array(0);
    let memory: WebAssembly.Memory | undefined;
    const view = () => (heap.buffer === memory!.buffer ? heap : (heap = new Uint8Array(memory!.buffer)));
    const imports = {
      a: {
        // emscripten's resize_heap, memcpy_big and assert_fail
        a: (size: number) => {
          try {
            memory!.grow(Math.ceil((size - memory!.buffer.byteLength) / 65536));
            return 1;
          } catch {
            return 0;
          }
        },
        b: (dest: number, src: number, n: number) => void view().copyWithin(dest, src, src + n),
        c: () => {
          throw new Error('blake3 wasm assertion failed');
        },
      },
    };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), imports);
    const x = instance.exports as unknown as WasmExports;
    if (!(x.d instanceof WebAssembly.Memory) || typeof x.e !== 'function' || typeof x.f !== 'function' || typeof x.h !== 'function') return null;
    memory = x.d;
    x.e();
    const out = x.h(32);
    const input = x.h(SMALL_INPUT);
    if (!out || !input) return null;
    const hash = (data: Uint8Array): Buffer => {
      const h = view();
      h.set(data, input);
      x.f(input, data.length, out, 32);
      return Buffer.from(view().subarray(out, out + 32));
    };
    return agrees(hash) ? hash : null;
  } catch {
    return null;
  }
}

// zstd, loaded on first use rather than at import: most commands never compress or decompress a
// chunk (listing, inspecting, incompressible data), and loading the native addon is a measurable
// part of their start-up. One module so every caller shares the one loaded binding.
import { createRequire } from 'node:module';

interface Zstd {
  compress(data: Uint8Array, params?: { compressionLevel?: number }): Buffer;
  decompress(data: Uint8Array): Buffer;
}

let loaded: Zstd | undefined;

function zstd(): Zstd {
  return (loaded ??= createRequire(import.meta.url)('zstd-napi') as Zstd);
}

export function compress(data: Uint8Array, params?: { compressionLevel?: number }): Buffer {
  return zstd().compress(data, params);
}

export function decompress(data: Uint8Array): Buffer {
  return zstd().decompress(data);
}

interface DCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
}

let dctx: DCtx | undefined;

/**
 * Decompress one frame into `dst`, which must be exactly as long as the frame's content: for
 * callers that know the size and reuse their buffers. Throws when the frame is damaged or its
 * content is another length.
 */
export function decompressInto(src: Uint8Array, dst: Uint8Array): void {
  dctx ??= new (createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx }).DCtx();
  const n = dctx.decompress(dst, src);
  if (n !== dst.length) throw new Error(`zstd frame decompresses to ${n} bytes, not ${dst.length}`);
}

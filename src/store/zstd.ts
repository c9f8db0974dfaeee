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

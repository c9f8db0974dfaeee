// Generated image data for the image tests: PNG stripes (a directory tree, label = folder) and
// CIFAR-10 binary batches with colour-coded classes. Seeded, so every run sees the same bytes.
import { PNG } from 'pngjs';
import { mulberry32 } from '../../src/ml/rng.js';

/** A size×size grayscale-ish RGB PNG of horizontal or vertical stripes with seeded noise. */
export function stripesPng(kind: 'horizontal' | 'vertical', size: number, seed: number): Buffer {
  const rand = mulberry32(seed);
  const png = new PNG({ width: size, height: size });
  const phase = Math.floor(rand() * 2);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const on = ((kind === 'horizontal' ? y : x) + phase) % 2 === 0;
      const v = Math.max(0, Math.min(255, (on ? 220 : 30) + Math.floor((rand() - 0.5) * 40)));
      const o = (y * size + x) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  return PNG.sync.write(png);
}

/** The files of a stripes image tree: `/<kind>/<i>.png`. */
export function stripesTree(perClass: number, size: number, seed = 1): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const kind of ['horizontal', 'vertical'] as const)
    for (let i = 0; i < perClass; i++) files[`/${kind}/${String(i).padStart(3, '0')}.png`] = stripesPng(kind, size, seed * 1000 + i + (kind === 'vertical' ? 500 : 0));
  return files;
}

/** A CIFAR-10 batch: `labels[i]` 0 → mostly red images, 1 → mostly blue, 2 → mostly green. */
export function cifarBatch(labels: number[], seed: number): Buffer {
  const rand = mulberry32(seed);
  const rec = 1 + 3072;
  const buf = Buffer.alloc(labels.length * rec);
  labels.forEach((label, r) => {
    buf[r * rec] = label;
    const strong = label === 0 ? 0 : label === 1 ? 2 : 1;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 1024; i++) buf[r * rec + 1 + c * 1024 + i] = c === strong ? 150 + Math.floor(rand() * 100) : Math.floor(rand() * 120);
  });
  return buf;
}

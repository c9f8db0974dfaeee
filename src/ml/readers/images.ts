// Images: a directory tree of PNG/JPEG files whose first-level folder is the label
// (`cats/1.png` → label "cats"), and the decoding + resizing that turns them into tensors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { MlError } from '../errors.js';
import type { Schema, Table } from '../table.js';

const IMAGE_EXT = /\.(png|jpe?g)$/i;

// the codecs load on first decode: commands that never touch images do not pay for them
const require = createRequire(import.meta.url);
let codecs: { PNG: typeof import('pngjs').PNG; jpeg: typeof import('jpeg-js') } | undefined;
function loadCodecs(): NonNullable<typeof codecs> {
  codecs ??= { PNG: (require('pngjs') as typeof import('pngjs')).PNG, jpeg: require('jpeg-js') as typeof import('jpeg-js') };
  return codecs;
}

export interface ImageFile {
  file: string;
  /** path relative to the data root, `/`-separated */
  rel: string;
  /** first-level folder, or null for files directly under the root */
  label: string | null;
}

/** Every PNG/JPEG under `root` (only under its entry `top` when given), sorted by relative path. */
export function listImages(root: string, top?: string): ImageFile[] {
  if (!fs.existsSync(root)) throw new MlError(`image directory ${root} not found`, 'check transform.ml.data.path and the input glob');
  if (!fs.statSync(root).isDirectory()) return IMAGE_EXT.test(root) ? [{ file: root, rel: path.basename(root), label: null }] : [];
  const out: ImageFile[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (IMAGE_EXT.test(e.name)) out.push({ file: path.join(dir, e.name), rel: r, label: r.includes('/') ? r.slice(0, r.indexOf('/')) : null });
    }
  };
  walk(root, '');
  return top === undefined ? out : out.filter((f) => f.rel === top || f.rel.startsWith(`${top}/`));
}

export interface DecodedImage {
  width: number;
  height: number;
  /** channels the source has that matter: 1 for grayscale PNGs, else 3 */
  channels: number;
  rgba: Uint8Array;
}

/** Decode PNG or JPEG bytes to RGBA. */
export function decodeImage(bytes: Uint8Array, name = 'image'): DecodedImage {
  const { PNG, jpeg } = loadCodecs();
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const gray = (png as unknown as { colorType?: number }).colorType === 0 || (png as unknown as { colorType?: number }).colorType === 4;
      return { width: png.width, height: png.height, channels: gray ? 1 : 3, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
      return { width: img.width, height: img.height, channels: 3, rgba: img.data as Uint8Array };
    }
  } catch (err) {
    throw new MlError(`${name} cannot be decoded: ${(err as Error).message}`);
  }
  throw new MlError(`${name} is neither PNG nor JPEG`);
}

/** Bilinear resize to height × width, `channels` (1: luminance, 3: RGB) scaled to [0, 1], written at `out[offset]`. */
export function imageToTensor(img: DecodedImage, height: number, width: number, channels: number, out: Float32Array, offset: number): void {
  const { rgba, width: sw, height: sh } = img;
  const px = (x: number, y: number, c: number) => rgba[(y * sw + x) * 4 + c]!;
  for (let y = 0; y < height; y++) {
    // align centres, as tf.image.resizeBilinear with halfPixelCenters does
    const fy = Math.min(Math.max((y + 0.5) * (sh / height) - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (sw / width) - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      const rgb = [0, 0, 0];
      for (let c = 0; c < 3; c++)
        rgb[c] = (px(x0, y0, c) * (1 - wx) + px(x1, y0, c) * wx) * (1 - wy) + (px(x0, y1, c) * (1 - wx) + px(x1, y1, c) * wx) * wy;
      const o = offset + (y * width + x) * channels;
      if (channels === 1) out[o] = (0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!) / 255;
      else for (let c = 0; c < 3; c++) out[o + c] = rgb[c]! / 255;
    }
  }
}

/** Schema of an image tree: `path` (string), the image column (shape of the first image) and the label column. */
export function readImageSchema(root: string, imageColumn: string, labelColumn: string, top?: string): Schema {
  const files = listImages(root, top);
  if (files.length === 0) throw new MlError(`no PNG or JPEG files under ${root}`, 'images are read from <label>/<file>.png under transform.ml.data.path');
  const first = decodeImage(fs.readFileSync(files[0]!.file), files[0]!.rel);
  const hasLabels = files.some((f) => f.label !== null);
  return {
    columns: [
      { name: 'path', type: 'string' },
      { name: imageColumn, type: 'image', shape: [first.height, first.width, first.channels] },
      ...(hasLabels ? [{ name: labelColumn, type: 'string' as const }] : []),
    ],
  };
}

/** Read an image tree: encoded bytes stay encoded until a DecodeImage stage. */
export function readImages(root: string, imageColumn: string, labelColumn: string, schema: Schema, top?: string): Table {
  const files = listImages(root, top);
  const shape = schema.columns.find((c) => c.name === imageColumn)?.shape;
  const columns: Table['columns'] = [
    { name: 'path', type: 'string', values: files.map((f) => f.rel) },
    { name: imageColumn, type: 'image', values: files.map((f) => new Uint8Array(fs.readFileSync(f.file))), shape },
  ];
  if (schema.columns.some((c) => c.name === labelColumn)) columns.push({ name: labelColumn, type: 'string', values: files.map((f) => f.label) });
  return { rows: files.length, columns };
}

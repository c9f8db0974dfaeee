// The CIFAR-10 binary batch format (https://www.cs.toronto.edu/~kriz/cifar.html): records of
// 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows of 32). Class names
// come from `batches.meta.txt` beside the batches when present.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MlError } from '../errors.js';
import type { Schema, Table } from '../table.js';

export const CIFAR_SIDE = 32;
export const CIFAR_RECORD = 1 + 3 * CIFAR_SIDE * CIFAR_SIDE;

/** The batch files a data path names: the file, or every *.bin under a directory (sorted). */
export function cifarFiles(p: string): string[] {
  if (!fs.existsSync(p)) throw new MlError(`CIFAR-10 data ${p} not found`, 'check transform.ml.data.path and the input glob');
  if (!fs.statSync(p).isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => path.join(p, f));
}

function classNames(files: string[]): string[] | undefined {
  if (files.length === 0) return undefined;
  const meta = path.join(path.dirname(files[0]!), 'batches.meta.txt');
  if (!fs.existsSync(meta)) return undefined;
  const names = fs.readFileSync(meta, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  return names.length > 0 ? names : undefined;
}

export function readCifarSchema(p: string, imageColumn: string, labelColumn: string): Schema {
  const files = cifarFiles(p);
  if (files.length === 0) throw new MlError(`no CIFAR-10 batch (*.bin) files under ${p}`);
  for (const f of files) {
    const size = fs.statSync(f).size;
    if (size === 0 || size % CIFAR_RECORD !== 0) throw new MlError(`${path.basename(f)} is not a CIFAR-10 batch: ${size} bytes is not a multiple of ${CIFAR_RECORD}`);
  }
  return {
    columns: [
      { name: imageColumn, type: 'tensor', shape: [CIFAR_SIDE, CIFAR_SIDE, 3] },
      { name: labelColumn, type: classNames(files) ? 'string' : 'number' },
    ],
  };
}

/** Read batches into a [32, 32, 3] float tensor column (scaled to [0, 1], channels last) and a label column. */
export function readCifar(p: string, imageColumn: string, labelColumn: string): Table {
  const files = cifarFiles(p);
  const names = classNames(files);
  const px = CIFAR_SIDE * CIFAR_SIDE;
  let rows = 0;
  for (const f of files) rows += fs.statSync(f).size / CIFAR_RECORD;
  const pixels = new Float32Array(rows * px * 3);
  const labels: number[] = [];
  let r = 0;
  for (const f of files) {
    const buf = fs.readFileSync(f);
    for (let off = 0; off < buf.length; off += CIFAR_RECORD, r++) {
      const label = buf[off]!;
      if (names && label >= names.length) throw new MlError(`${path.basename(f)} record ${off / CIFAR_RECORD}: label ${label} has no name in batches.meta.txt`);
      labels.push(label);
      const base = r * px * 3;
      for (let i = 0; i < px; i++) for (let c = 0; c < 3; c++) pixels[base + i * 3 + c] = buf[off + 1 + c * px + i]! / 255;
    }
  }
  return {
    rows,
    columns: [
      { name: imageColumn, type: 'tensor', shape: [CIFAR_SIDE, CIFAR_SIDE, 3], values: pixels },
      names ? { name: labelColumn, type: 'string', values: labels.map((l) => names[l]!) } : { name: labelColumn, type: 'number', values: Float64Array.from(labels) },
    ],
  };
}

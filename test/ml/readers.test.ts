// Readers: streamed typed CSV, image trees (label = folder), CIFAR-10 binary batches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCifar, readCifarSchema } from '../../src/ml/readers/cifar.js';
import { csvRecords, formatCsv, readCsv, readCsvSchema } from '../../src/ml/readers/csv.js';
import { listImages, readImageSchema } from '../../src/ml/readers/images.js';
import { tempDir } from '../helpers.js';
import { cifarBatch, stripesPng } from './images.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function write(files: Record<string, string | Buffer>): string {
  const dir = tempDir('tusk-ml-');
  dirs.push(dir);
  for (const [p, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), data);
  }
  return dir;
}
async function records(text: string): Promise<string[][]> {
  const dir = write({ 'a.csv': text });
  const out: string[][] = [];
  for await (const r of csvRecords(path.join(dir, 'a.csv'))) out.push(r);
  return out;
}

describe('CSV', () => {
  it('parses quotes, doubled quotes, CRLF, newlines in quotes and skips blank lines', async () => {
    expect(await records('a,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",\n3,4')).toEqual([['a', 'b'], ['x, y', 'say "hi"'], ['multi\nline', ''], ['3', '4']]);
  });

  it('infers types, treats NA/empty/? as missing, and honours declared types', async () => {
    const dir = write({ 'a.csv': 'id,x,city,y\n001,1.5,paris,1\n002,,lyon,NA\n003,?,,2\n' });
    const schema = await readCsvSchema(path.join(dir, 'a.csv'));
    expect(schema.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['id:number', 'x:number', 'city:string', 'y:number']);
    const typed = await readCsvSchema(path.join(dir, 'a.csv'), { columns: { id: 'string' } });
    const t = await readCsv([path.join(dir, 'a.csv')], typed);
    expect(t.rows).toBe(3);
    expect(t.columns[0]!.values).toEqual(['001', '002', '003']);
    expect(Array.from(t.columns[1]!.values as Float64Array)).toEqual([1.5, NaN, NaN]);
    expect(t.columns[2]!.values).toEqual(['paris', 'lyon', null]);
  });

  it('names the file, record and column of a cell that does not fit its type', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => `${i},1`);
    const dir = write({ 'big.csv': `a,b\n${rows.join('\n')}\noops,2\n` });
    const schema = await readCsvSchema(path.join(dir, 'big.csv'));
    await expect(readCsv([path.join(dir, 'big.csv')], schema)).rejects.toThrow('big.csv record 1003: column "a" holds "oops", which is not a number');
    await expect(readCsvSchema(path.join(dir, 'big.csv'), { columns: { zzz: 'number' } })).rejects.toThrow('transform.ml.data.columns: column "zzz" is not in the header of big.csv');
  });

  it('reads several files with one header, and refuses a different one', async () => {
    const dir = write({ '1.csv': 'a,b\n1,2\n', '2.csv': 'a,b\n3,4\n', '3.csv': 'a,c\n5,6\n' });
    const schema = await readCsvSchema(path.join(dir, '1.csv'));
    expect((await readCsv([path.join(dir, '1.csv'), path.join(dir, '2.csv')], schema)).rows).toBe(2);
    await expect(readCsv([path.join(dir, '3.csv')], schema)).rejects.toThrow('3.csv: header (a, c) differs');
    expect(formatCsv(['a', 'b,c'], [[1, 'x"y'], [null, 2.5]])).toBe('a,"b,c"\n1,"x""y"\n,2.5\n');
  });
});

describe('images and CIFAR-10', () => {
  it('image trees: label = first-level folder, shape of the first image', () => {
    const dir = write({ 'cats/a.png': stripesPng('horizontal', 5, 1), 'dogs/x/b.png': stripesPng('vertical', 5, 2), 'notes.txt': 'x' });
    expect(listImages(dir).map((f) => [f.rel, f.label])).toEqual([
      ['cats/a.png', 'cats'],
      ['dogs/x/b.png', 'dogs'],
    ]);
    expect(readImageSchema(dir, 'image', 'label').columns).toEqual([
      { name: 'path', type: 'string' },
      { name: 'image', type: 'image', shape: [5, 5, 3] },
      { name: 'label', type: 'string' },
    ]);
  });

  it('CIFAR-10 batches: label byte, planar RGB to channels-last, class names from batches.meta.txt', () => {
    const batch = cifarBatch([2, 0], 3);
    const dir = write({ 'data_batch_1.bin': batch, 'batches.meta.txt': 'airplane\nautomobile\nbird\n' });
    expect(readCifarSchema(dir, 'image', 'label').columns).toEqual([
      { name: 'image', type: 'tensor', shape: [32, 32, 3] },
      { name: 'label', type: 'string' },
    ]);
    const t = readCifar(dir, 'image', 'label');
    expect(t.rows).toBe(2);
    expect(t.columns[1]!.values).toEqual(['bird', 'airplane']);
    const px = t.columns[0]!.values as Float32Array;
    // record 1, pixel 5, green channel = byte 1 + 1024 + 5 of the record
    expect(px[3072 + 5 * 3 + 1]).toBeCloseTo(batch[3073 + 1 + 1024 + 5]! / 255, 6);
    const bad = write({ 'x.bin': Buffer.alloc(100) });
    expect(() => readCifarSchema(bad, 'image', 'label')).toThrow('x.bin is not a CIFAR-10 batch: 100 bytes is not a multiple of 3073');
    const noMeta = write({ 'b.bin': batch });
    expect(readCifar(noMeta, 'image', 'label').columns[1]).toMatchObject({ type: 'number' });
  });
});

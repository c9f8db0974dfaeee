// Readers: streamed typed CSV, image trees (label = folder), CIFAR-10 binary batches.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCifar, readCifarSchema } from '../../src/ml/readers/cifar.js';
import { csvBatches, csvField, CsvParser, csvRecords, readCsv, readCsvSchema } from '../../src/ml/readers/csv.js';
import { parseDecimal } from '../../src/ml/readers/decimal.js';
import { mulberry32 } from '../../src/ml/rng.js';
import { TextBuffer } from '../../src/ml/text-buffer.js';
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

  it('takes known types (a model\'s features) where the header has them, reading only the header when they type every column', async () => {
    const dir = write({ 'a.csv': 'id,x,city\n001,1.5,paris\n002,oops,lyon\n', 'q.csv': '"id","x\ny"\n1,2\n' });
    const file = path.join(dir, 'a.csv');
    const types = (s: { columns: { name: string; type: string }[] }) => s.columns.map((c) => `${c.name}:${c.type}`);
    // "oops" would make x a string column if the rows were sampled: they are not
    expect(types(await readCsvSchema(file, { known: { id: 'string', x: 'number', city: 'string', gone: 'number' } }))).toEqual(['id:string', 'x:number', 'city:string']);
    // a column without a known type is inferred from the rows; known columns the header lacks are ignored
    expect(types(await readCsvSchema(file, { known: { id: 'string', gone: 'number' } }))).toEqual(['id:string', 'x:string', 'city:string']);
    // declared types win over known ones, and must name header columns
    expect(types(await readCsvSchema(file, { known: { id: 'string', x: 'number', city: 'string' }, columns: { id: 'number' } }))).toEqual(['id:number', 'x:number', 'city:string']);
    await expect(readCsvSchema(file, { known: { id: 'string', x: 'number', city: 'string' }, columns: { zzz: 'number' } })).rejects.toThrow('column "zzz" is not in the header of a.csv');
    // a header with a quoted line break is read as a record, not as its first line
    expect(types(await readCsvSchema(path.join(dir, 'q.csv'), { known: { id: 'number', 'x\ny': 'number' } }))).toEqual(['id:number', 'x\ny:number']);
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
    expect(['a', 'b,c', 'x"y', 'l1\nl2', 'cr\r'].map(csvField)).toEqual(['a', '"b,c"', '"x""y"', '"l1\nl2"', '"cr\r"']);
  });
});

/** The reference: RFC 4180 character by character, as the CSV reader parsed before it had a fast path. */
function referenceRecords(text: string, delimiter = ','): string[][] {
  const out: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let any = false;
  for (const ch of text) {
    if (quoted) {
      if (ch === '"') {
        quoted = false;
        afterQuote = true;
      } else field += ch;
      continue;
    }
    if (ch === '"') {
      if (afterQuote) field += '"';
      quoted = true;
      afterQuote = false;
      any = true;
      continue;
    }
    afterQuote = false;
    if (ch === delimiter) {
      record.push(field);
      field = '';
      any = true;
    } else if (ch === '\n') {
      record.push(field);
      if (any || record.length > 1) out.push(record);
      record = [];
      field = '';
      any = false;
    } else if (ch !== '\r') {
      field += ch;
      any = true;
    }
  }
  if (any || field !== '' || record.length > 0) out.push([...record, field]);
  return out;
}

/** Seeded CSV-ish text: mostly plain lines, some quotes, CRLF, stray CRs, blank lines, a missing last newline. */
function messyCsv(seed: number, lines: number): string {
  const r = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const cells = ['1.5', '-0.25', '', 'NA', 'x', 'a b', '"q"', '"a,b"', '"say ""hi"""', '"two\nlines"', 'in"side', '7', 'é', '\r'];
  let text = '';
  for (let i = 0; i < lines; i++) {
    const n = 1 + Math.floor(r() * 4);
    text += r() < 0.05 ? '' : Array.from({ length: n }, () => (r() < 0.8 ? pick(cells.slice(0, 7)) : pick(cells))).join(',');
    text += r() < 0.2 ? '\r\n' : '\n';
  }
  return r() < 0.5 ? text.slice(0, -1) : text;
}

describe('CSV fast path', () => {
  it('gives the records of the character-by-character parser, wherever the chunks end', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const text = messyCsv(seed, 60);
      const r = mulberry32(seed + 1000);
      for (const delimiter of [',', ';', '::']) {
        const input = delimiter === ',' ? text : text.replaceAll(',', delimiter);
        const parser = new CsvParser(delimiter);
        const got: string[][] = [];
        for (let at = 0; at < input.length; ) {
          const next = Math.min(input.length, at + 1 + Math.floor(r() * 40));
          got.push(...parser.push(input.slice(at, next)));
          at = next;
        }
        got.push(...parser.end());
        // a multi-character delimiter never matches, as before: every line is one field
        expect(got, `seed ${seed}, delimiter ${delimiter}`).toEqual(referenceRecords(input, delimiter));
      }
    }
  });

  it('reads plain decimals exactly as Number() does, and leaves the rest to it', () => {
    const r = mulberry32(5);
    const samples = ['0', '-0', '007', '1.', '.5', '-.5', '1.50', '123456789012345', '0.000000000000001', '9007199254740993', '1234567890123456', '-', '.', '', '+1', '1e3', ' 1', '1 ', '0x10', '1.2.3', '--1'];
    for (let i = 0; i < 20000; i++) {
      const digits = Math.floor(r() * 18);
      const s = (r() < 0.3 ? '-' : '') + Array.from({ length: digits }, () => Math.floor(r() * 10)).join('');
      const cut = Math.floor(r() * (digits + 1));
      samples.push(r() < 0.7 ? `${s.slice(0, cut + (s.startsWith('-') ? 1 : 0))}.${s.slice(cut + (s.startsWith('-') ? 1 : 0))}` : s);
    }
    for (const s of samples) {
      const v = parseDecimal(`xx${s}yy`, 2, 2 + s.length);
      if (!Number.isNaN(v)) expect(Object.is(v, Number(s)), s).toBe(true);
      else expect(/^-?\d*\.?\d*$/.test(s) && /\d/.test(s) && s.replace(/[-.]/g, '').length <= 15, `${s} should be read in place`).toBe(false);
    }
  });

  it('finds a number cell\'s end in the scan that reads it: the cell, the value and the errors of the record path, whatever the delimiter', async () => {
    const r = mulberry32(11);
    // every cell Number() reads, or a missing-value spelling; those read in place and those that are not
    const cells = ['0', '-0', '007', '-1.5', '.5', '-.5', '1.', '12.250', '123456789012345', '1234567890123456', '1e3', '+2', ' 3 ', '', 'NA', '?', '0x10'];
    for (const delimiter of [',', ';', '\t', '-', '.', '5', '|']) {
      const keep = cells.filter((c) => !c.includes(delimiter));
      const lines = Array.from({ length: 300 }, () => [0, 1, 2].map(() => keep[Math.floor(r() * keep.length)]!).join(delimiter));
      const text = `a${delimiter}b${delimiter}c\n${lines.join('\n')}\n`;
      const dir = write({ 'n.csv': text });
      const schema = { columns: ['a', 'b', 'c'].map((name) => ({ name, type: 'number' as const })) };
      const got: number[] = [];
      for await (const t of csvBatches([path.join(dir, 'n.csv')], schema, { batchRows: 64, delimiter })) for (let i = 0; i < t.rows; i++) for (const c of t.columns) got.push((c.values as Float64Array)[i]!);
      // the reference: each record split on the delimiter, each cell read by Number() (missing spellings as NaN)
      const want = lines.flatMap((l) => l.split(delimiter).map((c) => (['', 'NA', '?', 'NaN'].includes(c.trim()) ? NaN : Number(c.trim()))));
      expect(got.length, `delimiter ${delimiter}`).toBe(want.length);
      got.forEach((v, i) => expect(Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i]!)), `delimiter ${JSON.stringify(delimiter)}, cell ${i}: ${v} vs ${want[i]}`).toBe(true));
    }
    // a record one cell short or long is reported as that, whichever cell the scan stops in
    const schema = { columns: ['a', 'b', 'c'].map((name) => ({ name, type: 'number' as const })) };
    const read = async (text: string, delimiter: string) => {
      const dir = write({ 'e.csv': text });
      for await (const _ of csvBatches([path.join(dir, 'e.csv')], schema, { batchRows: 64, delimiter })) continue;
    };
    for (const delimiter of [',', '-', '.']) {
      const d = delimiter;
      await expect(read(`a${d}b${d}c\n1${d}2${d}3\n4${d}5\n`, d), d).rejects.toThrow('e.csv record 3: 2 fields, the header has 3');
      await expect(read(`a${d}b${d}c\n1${d}2${d}3${d}4\n`, d), d).rejects.toThrow('e.csv record 2: 4 fields, the header has 3');
      await expect(read(`a${d}b${d}c\n1${d}x${d}3${d}4\n`, d), d).rejects.toThrow('e.csv record 2: 4 fields, the header has 3');
      await expect(read(`a${d}b${d}c\n1${d}2${d}x\n`, d), d).rejects.toThrow('e.csv record 2: column "c" holds "x", which is not a number');
    }
  });

  it('prints numbers exactly as String() does', () => {
    const r = mulberry32(9);
    const values = [0, -0, 1, -1, 0.1, 0.2 + 0.1, 1e-6, 9.99e-7, 1e-7, 123456789012345, 1e15, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, 1e21, 1.5e300, 5e-324, Math.PI, -2.5, 0.000125, 100, 1200.5];
    for (let i = 0; i < 20000; i++) {
      const places = Math.floor(r() * 12);
      values.push(Math.round((r() - 0.5) * 10 ** Math.floor(r() * 9) * 10 ** places) / 10 ** places);
      values.push(Math.fround(r()), (r() - 0.5) * 10 ** (Math.floor(r() * 40) - 20));
    }
    const out = new TextBuffer(16);
    for (const v of values) {
      out.clear();
      out.number(v);
      expect(Buffer.from(out.bytes()).toString('latin1'), String(v)).toBe(String(v));
    }
    // with the places of the number before as the hint, as a column of cells is printed
    let hint = -1;
    const wrong: string[] = [];
    for (const v of values) {
      out.clear();
      hint = out.number(v, hint);
      const text = Buffer.from(out.bytes()).toString('latin1');
      if (text !== String(v)) wrong.push(`${text} for ${String(v)}`);
    }
    expect(wrong).toEqual([]);
    for (let places = 0; places <= 15; places++)
      for (const v of [0.5, 12.25, -3.125, 1e-6, 123456.7, 0.1 + 0.2, 99.99, 1e14 + 0.5]) {
        out.clear();
        out.number(v, places);
        expect(Buffer.from(out.bytes()).toString('latin1'), `${String(v)} with hint ${places}`).toBe(String(v));
      }
    out.clear();
    out.text('a,é→😀');
    expect(Buffer.from(out.bytes()).toString('utf8')).toBe('a,é→😀');
  });

  it('streams typed batches, counting records across them for errors', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `r${i},${i === 3 ? '' : i / 4},"c, ${i}"`);
    const dir = write({ 'a.csv': `id,x,c\n${lines.join('\n')}\n`, 'b.csv': `id,x,c\n${lines.slice(0, 2).join('\n')}\nlate,oops,z\n` });
    const schema = await readCsvSchema(path.join(dir, 'a.csv'));
    const sizes: number[] = [];
    for await (const t of csvBatches([path.join(dir, 'a.csv')], schema, { batchRows: 4 })) sizes.push(t.rows);
    expect(sizes).toEqual([4, 4, 2]);
    const whole = await readCsv([path.join(dir, 'a.csv')], schema);
    expect(Array.from(whole.columns[1]!.values as Float64Array)).toEqual([0, 0.25, 0.5, NaN, 1, 1.25, 1.5, 1.75, 2, 2.25]);
    expect(whole.columns[2]!.values[9]).toBe('c, 9');
    const empty = write({ 'e.csv': 'id,x,c\n' });
    const none = [];
    for await (const t of csvBatches([path.join(empty, 'e.csv')], schema, { batchRows: 4 })) none.push(t.rows);
    expect(none).toEqual([0]);
    await expect(readCsv([path.join(dir, 'a.csv'), path.join(dir, 'b.csv')], schema)).rejects.toThrow('b.csv record 4: column "x" holds "oops", which is not a number');
    const short = write({ 's.csv': 'id,x,c\nr0,1,z\nr1,oops\nr2,1,z,extra\n' });
    await expect(readCsv([path.join(short, 's.csv')], schema)).rejects.toThrow('s.csv record 3: 2 fields, the header has 3');
    const long = write({ 'l.csv': 'id,x,c\nr0,1,z\nr2,1,z,extra\n' });
    await expect(readCsv([path.join(long, 'l.csv')], schema)).rejects.toThrow('l.csv record 3: 4 fields, the header has 3');
  });

  it('reads the header of rows read from an offset whole: longer than a chunk, a character across the chunk end', async () => {
    // 65,535 bytes of name, then "é" (two bytes) across the 64 KiB mark
    const wide = `${'w'.repeat(65_535)}é`;
    const head = `id,${wide}\n`;
    const text = `${head}1,2\n3,4\n5,6\n`;
    const dir = write({ 'h.csv': text });
    const file = path.join(dir, 'h.csv');
    const schema = await readCsvSchema(file, { known: { id: 'number', [wide]: 'number' } });
    expect(schema.columns.map((c) => c.name)).toEqual(['id', wide]);
    const from = Buffer.byteLength(`${head}1,2\n`);
    const rows: number[] = [];
    for await (const t of csvBatches([file], schema, { batchRows: 4, from })) rows.push(...(t.columns[1]!.values as Float64Array));
    expect(rows).toEqual([4, 6]);
    // a file of one header line without a line break, and an empty one
    const bare = write({ 'b.csv': 'id,x', 'e.csv': '' });
    expect((await readCsvSchema(path.join(bare, 'b.csv'), { known: { id: 'number', x: 'number' } })).columns.map((c) => c.name)).toEqual(['id', 'x']);
    await expect(readCsvSchema(path.join(bare, 'e.csv'))).rejects.toThrow();
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

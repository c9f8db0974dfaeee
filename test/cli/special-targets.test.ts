// Output paths that name a device (`-o /dev/null`), a FIFO or a socket. Output to a file goes
// through a temporary file and a rename; renamed over a device, that would replace it with a
// regular file (as root, /dev/null for the whole machine). A device node made in a temp dir
// (`mknod`, root only) stands in for /dev/null, so a regression cannot harm the real one.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSink } from '../../src/ml/text-sink.js';
import { tempDir } from '../helpers.js';
import { expectCliError, withStoreDir, type StoreDir } from './cli-helpers.js';

const isRoot = process.getuid?.() === 0;

/** A FIFO being read whole; resolves with what was written once the writer closes, after its open (so a writer never waits for it). */
async function fifoReader(file: string): Promise<{ read: Promise<Buffer> }> {
  execFileSync('mkfifo', [file]);
  const stream = fs.createReadStream(file);
  const parts: Buffer[] = [];
  const read = new Promise<Buffer>((resolve, reject) => {
    stream.on('data', (b) => parts.push(b as Buffer));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
  return { read };
}

describe('output to a device, a FIFO or a socket', () => {
  let s: StoreDir;
  let dir: string;
  const body = Buffer.from('0123456789'.repeat(50_000));
  beforeAll(async () => {
    s = await withStoreDir();
    dir = tempDir('tusk-special-');
    fs.writeFileSync(path.join(dir, 'src.bin'), body);
    await s.json(['create', 'repo', 'data']);
    await s.json(['put', 'file', 'data@master:/f.bin', '-f', path.join(dir, 'src.bin')]);
  });
  afterAll(() => {
    s?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!isRoot)('get file -o into a device writes into it and leaves it a device (needs root for mknod)', async () => {
    const dev = path.join(dir, 'null');
    execFileSync('mknod', ['-m', '666', dev, 'c', '1', '3']);
    for (const args of [[], ['--offset', '1000', '--length', '5000']]) {
      const r = await s.tusk(['get', 'file', 'data@master:/f.bin', ...args, '-o', dev]);
      expect(r.code, r.describe()).toBe(0);
      expect(fs.lstatSync(dev).isCharacterDevice()).toBe(true);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['null', 'src.bin']);
  });

  it('get file -o into a FIFO is refused by name, and the FIFO stays', async () => {
    const fifo = path.join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    await expectCliError(['get', 'file', 'data@master:/f.bin', '-o', fifo], { exit: 2, code: 'E_INVALID', mentions: ['out.fifo is a FIFO'] }, { cwd: s.dir });
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a predictions file sink writes into a FIFO in order; abort leaves it in place', async () => {
    const fifo = path.join(dir, 'pred.fifo');
    const { read } = await fifoReader(fifo);
    const sink = await openWhenRead(fifo);
    await sink.write('a,b\n');
    await sink.write(Buffer.from('1,2\n'));
    sink.commit();
    expect((await read).toString()).toBe('a,b\n1,2\n');
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    const other = path.join(dir, 'pred2.fifo');
    const second = await fifoReader(other);
    const failed = await openWhenRead(other);
    await failed.write('partial\n');
    failed.abort();
    await second.read;
    expect(fs.lstatSync(other).isFIFO()).toBe(true);
  });
});

/** fileSink opens a FIFO for writing synchronously: let the reader's open (on the thread pool) be issued first. */
async function openWhenRead(file: string) {
  await new Promise((r) => setImmediate(r));
  return fileSink(file);
}

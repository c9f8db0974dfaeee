// Helpers for the console tests: a store with history, previews and pipelines built through the
// store and pipeline services, the console started as the CLI runs it, and a Chromium to drive.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import type { Store } from '../../src/store/store.js';
import type { PutSource } from '../../src/store/types.js';
import { BIN, REPO_ROOT } from '../cli/cli-helpers.js';
import { streamOf } from '../helpers.js';

export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'console');

// ─── data ────────────────────────────────────────────────────────────────────────────────────

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A w×h RGB PNG whose pixel colours come from `rgb(x, y)`. */
export function makePng(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) raw.set(rgb(x, y), y * (1 + 3 * w) + 1 + 3 * x);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

export const README_V1 = ['# Images', '', 'Pictures of cats and dogs.', 'Labelled by hand.', 'Version one.', ''].join('\n');
export const README_V2 = ['# Images', '', 'Pictures of cats, dogs and owls.', 'Labelled by hand.', 'Version two.', 'Now with owls.', ''].join('\n');
export const IRIS_ROWS = 250;

function irisCsv(): string {
  const rows = ['sepal_length,sepal_width,species'];
  for (let i = 0; i < IRIS_ROWS; i++) rows.push(`${(4 + (i % 30) / 10).toFixed(1)},${(2 + (i % 15) / 10).toFixed(1)},${i % 3 === 0 ? 'setosa' : i % 3 === 1 ? '"versi, color"' : 'virginica'}`);
  return rows.join('\n') + '\n';
}

async function put(store: Store, repo: string, files: Record<string, string | Buffer>, message?: string): Promise<string> {
  const sources = Object.entries(files).map(([repoPath, data]) => ({ kind: 'stream' as const, stream: streamOf(data), repoPath }));
  return (await store.putFiles({ repo, branch: 'master' }, sources, { description: message })).commit;
}

const UPPER = {
  pipeline: { name: 'upper' },
  description: 'Upper-cases every file.',
  input: { pfs: { repo: 'raw', glob: '/*' } },
  transform: { cmd: ['sh'], stdin: ['for f in /pfs/raw/*; do echo "upper-casing $(basename "$f")"; tr a-z A-Z < "$f" > /pfs/out/$(basename "$f"); done'] },
};
const STATS = {
  pipeline: { name: 'stats' },
  description: 'Counts the upper-cased files, as a model would report its metrics.',
  input: { pfs: { repo: 'upper', glob: '/' } },
  transform: {
    cmd: ['sh'],
    stdin: [
      'n=$(ls /pfs/upper | wc -l); b=$(cat /pfs/upper/* | wc -c)',
      'printf \'{"files": %d, "bytes": %d, "eval": {"score": %d.5}}\\n\' "$n" "$b" "$n" > /pfs/out/metrics.json',
      'echo "stats over $n files" >&2',
    ],
  },
};

export interface Fixture {
  /** images@master's commits: the import, the README edit, the deletion of /blob.bin */
  first: string;
  second: string;
  third: string;
  /** images@dev: one commit on top of `first` */
  dev: string;
  /** the commit of raw that made the newest jobs */
  rawHead: string;
  bigDirFiles: number;
}

/**
 * repo `images` (two commits: text, CSV, JSON, PNG, binary), repo `many` (a directory of
 * `bigDirFiles` files), repo `raw` → pipeline `upper` → pipeline `stats` (writes metrics.json),
 * with three rounds of input so `stats` has three model versions.
 */
export async function buildFixture(store: Store, dir: string, opts: { bigDirFiles?: number } = {}): Promise<Fixture> {
  await store.createRepo('images', { description: 'Labelled pictures' });
  const png = makePng(24, 16, (x, y) => [x * 10, y * 15, 160]);
  const first = await put(
    store,
    'images',
    {
      '/README.md': README_V1,
      '/data/iris.csv': irisCsv(),
      '/config.json': JSON.stringify({ model: 'resnet', layers: [1, 2, 3], nested: { lr: 0.01 } }),
      '/img/gradient.png': png,
      '/blob.bin': Buffer.from([0, 1, 2, 3, 0, 255, 0, 7]),
    },
    'first import',
  );
  const second = await put(store, 'images', { '/README.md': README_V2, '/data/extra.csv': 'a,b\n1,2\n' }, 'add owls');
  const third = (await store.deleteFiles({ repo: 'images', branch: 'master', path: '/blob.bin' })).id;
  // a branch forked from the first commit, so the history graph has two lines
  await store.createBranch('images', 'dev', { head: { repo: 'images', commit: first } });
  const dev = (await store.putFiles({ repo: 'images', branch: 'dev' }, [{ kind: 'stream', stream: streamOf('draft\n'), repoPath: '/DRAFT.md' }], { description: 'draft on dev' })).commit;

  const bigDirFiles = opts.bigDirFiles ?? 1234;
  await store.createRepo('many', { description: 'A wide directory' });
  const sources: PutSource[] = [];
  for (let i = 0; i < bigDirFiles; i++) sources.push({ kind: 'stream', stream: streamOf(`file ${i}\n`), repoPath: `/wide/f${String(i).padStart(6, '0')}.txt` });
  await store.putFiles({ repo: 'many', branch: 'master' }, sources, { description: 'many files' });

  await store.createRepo('raw', { description: 'Input text' });
  await put(store, 'raw', { '/a.txt': 'alpha\n', '/b.txt': 'bravo\n' }, 'two words');
  await createPipelines(store.handle, JSON.stringify(UPPER), { baseDir: dir });
  await createPipelines(store.handle, JSON.stringify(STATS), { baseDir: dir });
  await runForeground(store.handle);
  await put(store, 'raw', { '/c.txt': 'charlie\n' }, 'third word');
  await runForeground(store.handle);
  const rawHead = await put(store, 'raw', { '/d.txt': 'delta\n', '/e.txt': 'echo\n' }, 'two more');
  await runForeground(store.handle);
  return { first, second, third, dev, rawHead, bigDirFiles };
}

// ─── the console process ─────────────────────────────────────────────────────────────────────

/** Build dist/web when web/ changed since (the suite's global setup only watches src/). */
export function ensureWebBuilt(): void {
  const newest = (d: string): number =>
    Math.max(0, ...fs.readdirSync(d, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).mtimeMs)));
  const bundle = path.join(REPO_ROOT, 'dist', 'web', 'app.js');
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newest(path.join(REPO_ROOT, 'web'))) return;
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-web.js')], { cwd: REPO_ROOT, stdio: 'pipe' });
}

export interface ConsoleProcess {
  url: string;
  origin: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `tusk console --port 0 …` on a store; resolves with the URL it prints. */
export function startConsoleProcess(storeDir: string, args: string[] = []): Promise<ConsoleProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, TUSK_STORE: storeDir, NO_COLOR: '1' };
  delete env.TUSK_CONSOLE_TOKEN;
  const child = spawn(process.execPath, [BIN, 'console', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tusk console printed no URL in 20 s:\n${out}\n${err}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`tusk console exited with ${code}:\n${out}\n${err}`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /(http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const url = m[1]!;
      resolve({
        url,
        origin: new URL(url).origin,
        child,
        stderr: () => err,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.once('exit', (code) => done(code));
            child.kill('SIGINT');
          }),
      });
    });
  });
}

// ─── the browser ─────────────────────────────────────────────────────────────────────────────

/** Debian's Chromium, or the one TUSK_CHROMIUM names; undefined when none is installed. */
export function findChromium(): string | undefined {
  const candidates = [process.env.TUSK_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

// bin/run.js compiles the bundle with the V8 code cache the build wrote. A cache V8 cannot use
// (another Node, damaged, missing) must only cost time: the CLI still runs. Checked on a copy of
// the package, so the shared dist/ is never touched while other tests use it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const copy = tempDir('tusk-code-cache-');
afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

for (const entry of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) fs.cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
const cache = path.join(copy, 'dist', 'bundle', 'tusk.cache');
const env = { ...process.env };
delete env.TUSK_WRITE_CODE_CACHE;
const version = () => execFileSync(process.execPath, [path.join(copy, 'bin', 'run.js'), '--version'], { encoding: 'utf8', env });

describe('the code cache', () => {
  it('is written by the build', () => {
    expect(fs.statSync(path.join(root, 'dist', 'bundle', 'tusk.cache')).size).toBeGreaterThan(10_000);
  });

  it('runs the CLI when it is damaged, and when it is missing', () => {
    const expected = version();
    expect(expected).toMatch(/^tusk\/\d/);
    fs.writeFileSync(cache, Buffer.alloc(4096, 0x5a));
    expect(version()).toBe(expected);
    fs.rmSync(cache);
    expect(version()).toBe(expected);
  });
});

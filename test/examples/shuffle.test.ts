// Pachyderm's shuffle example, as its README runs it: the transform passes its (empty_files)
// inputs through with `ln -s`, and the outputs are the inputs' contents, neither read nor uploaded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../cli/cli-helpers.js';
import { type Example, type FileInfo, expectAllJobsSucceeded, missingTool, openExample } from './pachyderm-example.js';

const missing = missingTool(['bash', 'find']);

type Job = { state: string; downloadBytes: number; uploadBytes: number; processed: number; total: number };

describe.skipIf(missing !== undefined)(`Pachyderm's shuffle example${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ex: Example;
  beforeAll(async () => {
    ex = await openExample('shuffle');
  });
  afterAll(() => ex?.cleanup());

  it('places each fruit\'s image and price under its name, by reference', async () => {
    for (const line of [
      'create repo fruits',
      'put file fruits@master -f mango.jpeg',
      'put file fruits@master -f apple.jpeg',
      'create repo pricing',
      'put file pricing@master -f mango.json',
      'put file pricing@master -f apple.json',
      'create pipeline -f shuffle.pipeline.json',
    ])
      expectOk(await ex.tusk(line.split(' ')));

    const out = await ex.json<FileInfo[]>(['glob', 'file', 'shuffle@master:/**']);
    expect(out.map((f) => [f.path, f.type])).toEqual([
      ['/apple', 'dir'],
      ['/apple/cost.json', 'file'],
      ['/apple/img.jpeg', 'file'],
      ['/mango', 'dir'],
      ['/mango/cost.json', 'file'],
      ['/mango/img.jpeg', 'file'],
    ]);
    for (const [output, input] of [
      ['apple/img.jpeg', 'apple.jpeg'],
      ['apple/cost.json', 'apple.json'],
      ['mango/img.jpeg', 'mango.jpeg'],
      ['mango/cost.json', 'mango.json'],
    ]) {
      const got = expectOk(await ex.tusk(['get', 'file', `shuffle@master:/${output}`])).stdoutBytes;
      expect(got.equals(fs.readFileSync(path.join(ex.dir, input))), output).toBe(true);
    }
    // the README's `list job`: 4 datums, no data downloaded or uploaded
    const [job] = await ex.json<Job[]>(['list', 'job', '-p', 'shuffle', '-n', '1']);
    expect([job!.state, job!.processed, job!.total, job!.downloadBytes, job!.uploadBytes]).toEqual(['JOB_SUCCESS', 4, 4, 0, 0]);
    await expectAllJobsSucceeded(ex);
  });
});

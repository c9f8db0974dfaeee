// Pachyderm's joins example (inner and outer), as its README and Makefile run it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../cli/cli-helpers.js';
import { type Example, expectAllJobsSucceeded, getText, listPaths, missingTool, openExample } from './pachyderm-example.js';

const missing = missingTool(['make', 'python3', 'bash']);

describe.skipIf(missing !== undefined)(`Pachyderm's joins example${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ex: Example;
  beforeAll(async () => {
    ex = await openExample('joins');
    ex.make('setup');
    // the deploy target as written: its `pachctl put file -r stores@master:/ -f stores` fills the root
    ex.make('deploy');
  });
  afterAll(() => ex?.cleanup());

  it('puts the mock data at the root of each repo', async () => {
    expect(await listPaths(ex, 'stores@master')).toEqual(['/STOREID1.txt', '/STOREID2.txt', '/STOREID3.txt', '/STOREID4.txt', '/STOREID5.txt']);
    expect(await listPaths(ex, 'returns@master')).toHaveLength(4);
    expect(await listPaths(ex, 'purchases@master')).toHaveLength(6);
  });

  it('inner join: the README commands, with the image WORKDIR given as --workdir', async () => {
    // Dockerfile: WORKDIR /app, ADD ./src/inner/main.py inner/main.py → the local stand-in is src/
    expectOk(await ex.tusk(['create', 'pipeline', '-f', 'pipelines/inner/inner_join.pipeline.json', '--workdir', 'src']));
    expectOk(await ex.tusk(['create', 'pipeline', '-f', 'pipelines/inner/reduce_inner.pipeline.json']));
    expect(await listPaths(ex, 'inner_join@master')).toEqual(['/02108', '/90210']);
    expect(await listPaths(ex, 'inner_join@master:/02108/')).toEqual([
      '/02108/ORDERW078929_STOREID2.txt',
      '/02108/ORDERW080520_STOREID1.txt',
      '/02108/ORDERW080521_STOREID1.txt',
    ]);
    expect(await listPaths(ex, 'reduce_inner@master')).toEqual(['/02108.txt', '/90210.txt']);
    const zip02108 = await getText(ex, 'reduce_inner@master:/02108.txt');
    for (const order of ['W080520', 'W080521', 'W078929']) expect(zip02108).toContain(`ORDER_HEADER|${order}|`);
    expect(zip02108).toContain('Purchase at store: 1 - washington st.');
    expect(zip02108).toContain('Purchase at store: 2 - hollywood bvd.');
    const zip90210 = await getText(ex, 'reduce_inner@master:/90210.txt');
    for (const order of ['W598471', 'W080528', 'W080231']) expect(zip90210).toContain(`ORDER_HEADER|${order}|`);
    const inspected = await ex.json<{ spec: { workdir?: string } }>(['inspect', 'pipeline', 'inner_join']);
    expect(inspected.spec.workdir).toBe(fs.realpathSync(path.join(ex.dir, 'src')));
  });

  it('outer join: the Makefile target as written, the WORKDIR stand-in given per image in tusk.yaml', async () => {
    fs.writeFileSync(path.join(ex.dir, 'tusk.yaml'), 'images:\n  pachyderm/example-joins-inner-outer:2.1.0:\n    workdir: src\n');
    ex.make('create-pipeline-join', 'join-type=outer');
    // the spec as committed sets outer_join on both inputs (the README's case 3)
    expect(await listPaths(ex, 'outer_join@master')).toEqual(['/02108', '/90210', '/94107', '/UNKNOWN']);
    expect(await listPaths(ex, 'reduce_outer@master')).toEqual(['/02108.txt', '/90210.txt', '/94107.txt', '/UNKNOWN.txt']);
    const unknown = await getText(ex, 'reduce_outer@master:/UNKNOWN.txt');
    expect(unknown).toContain('This return store does not exist');
    expect(unknown).toContain('ORDER_HEADER|W261452|');
    expect(await getText(ex, 'reduce_outer@master:/94107.txt')).toContain('Return at store: 4 - mariposa st.');
    await expectAllJobsSucceeded(ex);
  });
});

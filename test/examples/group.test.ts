// Pachyderm's group example, both of its pipelines (lab and retail), as its README and Makefile run them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk } from '../cli/cli-helpers.js';
import { type Example, expectAllJobsSucceeded, getText, listPaths, missingTool, openExample } from './pachyderm-example.js';

const missing = missingTool(['make', 'python3', 'bash']);

describe.skipIf(missing !== undefined)(`Pachyderm's group example${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let ex: Example;
  beforeAll(async () => {
    ex = await openExample('group');
  });
  afterAll(() => ex?.cleanup());

  it('lab: make setup-lab, deploy-lab and create-lab as written', async () => {
    ex.make('setup-lab');
    ex.make('deploy-lab');
    ex.make('create-lab');
    expect(await listPaths(ex, 'labresults@master')).toHaveLength(6);
    expect(await listPaths(ex, 'group_by_hospital@master')).toEqual(['/24D9871327', '/24D9871328']);
    expect(await listPaths(ex, 'group_by_patient@master')).toEqual(['/1', '/2', '/3', '/4']);
    expect(await listPaths(ex, 'group_by_patient@master:/1/')).toEqual([
      '/1/T1606707557-LIPID-PATID1-CLIA24D9871327.txt',
      '/1/T1606707613-LIPID-PATID1-CLIA24D9871328.txt',
    ]);
    expect(await listPaths(ex, 'reduce_group_by_hospital@master')).toEqual(['/24D9871327.txt', '/24D9871328.txt']);
    const lab = await getText(ex, 'reduce_group_by_hospital@master:/24D9871327.txt');
    for (const patient of ['PID|PATID1', 'PID|PATID2', 'PID|PATID3', 'PID|PATID4']) expect(lab).toContain(patient);
    expect(await listPaths(ex, 'reduce_group_by_patient@master')).toEqual(['/1.txt', '/2.txt', '/3.txt', '/4.txt']);
  });

  it('retail: make setup-retail and deploy-retail, then the README create with --workdir for the image WORKDIR', async () => {
    ex.make('setup-retail');
    ex.make('deploy-retail');
    expect(await listPaths(ex, 'stores@master')).toEqual(['/STOREID1.txt', '/STOREID2.txt', '/STOREID3.txt', '/STOREID4.txt', '/STOREID5.txt']);
    // Dockerfile: WORKDIR /app, ADD ./src/main.py main.py
    expectOk(await ex.tusk(['create', 'pipeline', '-f', 'pipelines/retail/retail_group.pipeline.json', '--workdir', 'src']));
    // one file per store id, the returns-only store 0 and the purchase-less store 4 included
    expect(await listPaths(ex, 'group_store_revenue@master')).toEqual(['/0.txt', '/1.txt', '/2.txt', '/3.txt', '/4.txt', '/5.txt']);
    const five = await getText(ex, 'group_store_revenue@master:/5.txt');
    expect(five).toContain('Store: 5 - tremont st.');
    expect(five).toContain('ORDER_AMOUNT|450.0|RETURN_AMOUNT|350.0|NET_AMOUNT|100.0');
    expect(await getText(ex, 'group_store_revenue@master:/0.txt')).toContain('This return store does not exist');
    await expectAllJobsSucceeded(ex);
  });
});

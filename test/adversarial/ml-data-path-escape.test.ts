// An ML transform's data path that climbs out of /pfs with `..` must be refused when the
// pipeline is created, before any host file is read, and the model card must name only the
// inputs the task read.
//
// Reproduction: a host file /tmp/…/secret.csv, a repo `houses`, and
//   tusk create pipeline -f spec.json   with  transform.ml.data.path "/pfs/../../../tmp/…/secret.csv"
// was accepted; the job trained on the host file and the model card credited houses@master.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localPath } from '../../src/ml/data.js';
import { validateMlSpec } from '../../src/ml/spec.js';
import { createPipelines } from '../../src/pipeline/pipeline-service.js';
import { withStoreDir } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { housesCsv, mlStore, PRICE_ML, priceSpec, put } from '../ml/ml-helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function secretCsv(): string {
  const dir = tempDir('tusk-secret-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'secret.csv');
  fs.writeFileSync(file, housesCsv(50, 7));
  return file;
}

describe('ML data paths outside /pfs', () => {
  it('tusk create pipeline refuses a data.path with .. that leaves /pfs (exit 2, nothing created)', async () => {
    const secret = secretCsv();
    await withStoreDir(async (s) => {
      expect((await s.tusk(['create', 'repo', 'houses'])).code).toBe(0);
      const spec = priceSpec('leak', { ...PRICE_ML, data: { ...PRICE_ML.data, path: `/pfs/../../..${secret}` } });
      fs.writeFileSync(path.join(s.dir, 'spec.json'), JSON.stringify(spec));
      const r = await s.tusk(['create', 'pipeline', '-f', 'spec.json', '--json']);
      expect(r.code, r.describe()).toBe(2);
      expect(r.json().error).toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('transform.ml.data.path') });
      expect(r.json().error.message).toContain('outside /pfs');
      expect(await s.json(['list', 'pipeline'])).toEqual([]);
    });
  });

  it('refuses relative and model paths that climb out, and the output directory', () => {
    const base = { task: 'train', chain: PRICE_ML.chain, data: { format: 'csv', label: 'price' } };
    for (const p of ['houses/../../../etc/passwd', '/pfs/houses/../../etc', '/pfs/..', '/pfs', '../x.csv', '/pfs/out/x.csv'])
      expect(() => validateMlSpec({ ...base, data: { ...base.data, path: p } }), p).toThrow(/transform\.ml\.data\.path: .*(outside \/pfs|output directory)/);
    expect(() => validateMlSpec({ task: 'predict', model: '/pfs/m/../../tmp/model', data: { format: 'csv', path: '/pfs/new' } })).toThrow(/transform\.ml\.model: .*outside \/pfs/);
    // still accepted: a path that stays inside after normalisation
    expect(validateMlSpec({ ...base, data: { ...base.data, path: '/pfs/houses/./a/../train.csv' } }).data.path).toBe('/pfs/houses/train.csv');
  });

  it('localPath never resolves outside the datum directory', () => {
    expect(localPath('/pfs/houses/train.csv', '/s/pfs')).toBe('/s/pfs/houses/train.csv');
    expect(localPath('/pfs/../../tmp/secret.csv', '/s/pfs')).toBe('/s/pfs/tmp/secret.csv');
    expect(localPath('/pfs/houses/../../../x', '/s/pfs')).toBe('/s/pfs/x');
  });

  it('the model card names only the inputs the task read', async () => {
    const env = mlStore();
    cleanups.push(env.cleanup);
    await put(env.store, 'houses', { '/train.csv': housesCsv(80, 1) });
    await put(env.store, 'unrelated', { '/x.txt': 'not read' });
    const spec = { ...priceSpec(), input: { cross: [{ pfs: { repo: 'houses', glob: '/' } }, { pfs: { repo: 'unrelated', glob: '/' } }] } };
    await createPipelines(env.store.handle, JSON.stringify(spec), { baseDir: env.dir });
    const { runForeground } = await import('../../src/pipeline/runner.js');
    await runForeground(env.store.handle);
    const { readJson } = await import('../ml/ml-helpers.js');
    const card = await readJson(env.store, 'price-model@master:/model-card.json');
    expect(card.inputs.map((i: { name: string }) => i.name)).toEqual(['houses']);
  });
});

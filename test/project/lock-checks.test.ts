// `tusk lock` and the pre-commit hook create pipelines through the same service as `create
// pipeline`, so they refuse the same invalid spec with the same error, create nothing and leave
// tusk.lock unwritten, instead of creating a pipeline whose job fails at run time.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject } from './project-helpers.js';

// StandardScaler needs numbers, and `city` in the tracked training file is a string: only the
// type check against the file at the input's head finds it.
const MODEL_SPEC = {
  pipeline: { name: 'model' },
  input: { pfs: { repo: 'houses', glob: '/' } },
  transform: { ml: { data: { path: '/pfs/houses/train.csv', label: 'price' }, chain: [{ StandardScaler: {} }, { LinearRegression: {} }] } },
};
const EXPECTED = 'transform.ml.chain[0] (StandardScaler): column "city" is a string; StandardScaler needs numbers';

describe('tusk lock runs the pipeline checks create pipeline runs', () => {
  let p: TestProject;
  beforeAll(() => {
    p = new TestProject({
      config: 'store: .tusk\ntrack:\n  - path: data/houses\n    repo: houses\npipelines:\n  - spec: pipelines/model.json\nwait: true\n',
      files: {
        'pipelines/model.json': JSON.stringify(MODEL_SPEC, null, 2) + '\n',
        'data/houses/train.csv': 'sqft,city,price\n1000,paris,300\n1200,lyon,350\n',
      },
    });
  });
  afterAll(() => p?.cleanup());

  it('refuses an ML chain that does not fit its training data, as create pipeline does', async () => {
    const locked = await p.tusk(['lock', '--json']);
    expect(locked.code, locked.describe()).toBe(2);
    expect(locked.json().error).toMatchObject({ code: 'E_INVALID', message: EXPECTED });
    expect(fs.existsSync(p.path('tusk.lock'))).toBe(false);
    expect(await p.tuskJson(['list', 'pipeline'])).toEqual([]);

    const created = await p.tusk(['create', 'pipeline', '-f', 'pipelines/model.json', '--json']);
    expect(created.code, created.describe()).toBe(2);
    expect(created.json().error).toEqual(locked.json().error);
    expect(await p.tuskJson(['list', 'pipeline'])).toEqual([]);
  }, 60_000);

  it('the pre-commit hook refuses it too, and the git commit does not happen', async () => {
    const installed = await p.tusk(['hooks', 'install', '--json']);
    expect(installed.code, installed.describe()).toBe(0);
    const committed = p.commit('add a model');
    expect(committed.code, committed.stderr).not.toBe(0);
    expect(committed.stderr).toContain(EXPECTED);
    expect(p.git(['rev-parse', '--verify', '-q', 'HEAD']).code).not.toBe(0);
    expect(fs.existsSync(p.path('tusk.lock'))).toBe(false);
    expect(await p.tuskJson(['list', 'pipeline'])).toEqual([]);
  }, 60_000);
});

// The local stand-in for a pipeline image's WORKDIR: `create/update pipeline --workdir` and
// tusk.yaml's `workdir:` (per spec file) and `images:` (per image), used by `tusk lock` (the
// hooks' sync) and `tusk verify`. The specs run `sh upper.sh`, which only the stand-in holds.
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestProject, UPPER_SH } from './project-helpers.js';

const step = it.sequential;
const spec = (name: string, image?: string) =>
  JSON.stringify({ pipeline: { name }, input: { pfs: { repo: 'words', glob: '/*' } }, transform: { cmd: ['sh', 'upper.sh', '/pfs/words', '/pfs/out'], ...(image ? { image } : {}) } });

describe('the image WORKDIR stand-in', () => {
  let p: TestProject;
  beforeAll(() => {
    p = new TestProject({
      config: [
        'store: .tusk',
        'track:',
        '  - path: data/words',
        '    repo: words',
        'pipelines:',
        '  - spec: pipelines/upper.json',
        '    code: [app]',
        '    workdir: app',
        '  - spec: pipelines/shout.json',
        '    code: [image-code]',
        'images:',
        '  example.org/shout:1.0:',
        '    workdir: image-code',
        'wait: true',
        '',
      ].join('\n'),
      files: {
        'pipelines/upper.json': spec('upper'),
        'pipelines/shout.json': spec('shout', 'example.org/shout:1.0'),
        'app/upper.sh': UPPER_SH,
        'image-code/upper.sh': UPPER_SH,
        'cli/upper.json': spec('cliupper', 'other/image:2'),
        'cli/code/upper.sh': UPPER_SH,
      },
    });
  });
  afterAll(() => p.cleanup());

  step('tusk lock runs each pipeline where tusk.yaml says, and inspect pipeline shows it', async () => {
    const r = await p.tusk(['lock']);
    expect(r.code, r.describe()).toBe(0);
    for (const name of ['upper', 'shout']) expect((await p.tusk(['get', 'file', `${name}@master:/a.txt`])).stdout).toBe('HELLO\n');
    const upper = await p.tuskJson(['inspect', 'pipeline', 'upper']);
    expect(upper.spec.workdir).toBe(fs.realpathSync(p.path('app')));
    expect((await p.tuskJson(['inspect', 'pipeline', 'shout'])).spec.workdir).toBe(fs.realpathSync(p.path('image-code')));
    expect((await p.tusk(['inspect', 'pipeline', 'upper'])).stdout).toMatch(/^Workdir: .*\/app$/m);
  });

  step('tusk verify re-runs them there', async () => {
    p.commit('first');
    const v = await p.tusk(['verify', '--json']);
    expect(v.code, v.describe()).toBe(0);
    expect(v.json().pipelines.map((x: any) => [x.pipeline, x.status])).toEqual([
      ['shout', 'ok'],
      ['upper', 'ok'],
    ]);
  });

  step('create pipeline --workdir: a missing directory is refused and nothing is created', async () => {
    const r = await p.tusk(['create', 'pipeline', '-f', 'cli/upper.json', '--workdir', 'cli/nope', '--json']);
    expect(r.code, r.describe()).toBe(2);
    expect(r.json().error.code).toBe('E_INVALID');
    expect(r.json().error.message).toContain('cli/nope');
    expect((await p.tuskJson(['list', 'pipeline'])).map((x: any) => x.name).sort()).toEqual(['shout', 'upper']);
  });

  step('create pipeline --workdir runs there; update pipeline without it keeps it', async () => {
    const env = { TUSK_RUNNER: 'foreground' };
    let r = await p.tusk(['create', 'pipeline', '-f', 'cli/upper.json', '--workdir', 'cli/code'], { env });
    expect(r.code, r.describe()).toBe(0);
    expect((await p.tusk(['get', 'file', 'cliupper@master:/b.txt'])).stdout).toBe('WORLD\n');
    r = await p.tusk(['update', 'pipeline', '-f', 'cli/upper.json', '--reprocess'], { env });
    expect(r.code, r.describe()).toBe(0);
    const info = await p.tuskJson(['inspect', 'pipeline', 'cliupper']);
    expect([info.version, info.lastJobState, info.spec.workdir]).toEqual([2, 'success', fs.realpathSync(p.path('cli/code'))]);
  });
});

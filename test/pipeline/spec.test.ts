import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  describeInput,
  inputRepos,
  normalizeSpec,
  parseDuration,
  parseSpecText,
  specHash,
  validateCronSpec,
} from '../../src/pipeline/spec.js';
import type { InputSpec, PipelineSpec } from '../../src/pipeline/spec-types.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'specs');
const CORES = os.availableParallelism();

function loadFixture(file: string): { spec: PipelineSpec; warnings: string[] }[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  return parseSpecText(text, { baseDir: FIXTURES, source: file }).map((r) => normalizeSpec(r.value, { baseDir: r.baseDir }));
}

function only(file: string): { spec: PipelineSpec; warnings: string[] } {
  const all = loadFixture(file);
  expect(all).toHaveLength(1);
  return all[0];
}

/** A minimal valid spec; `patch` replaces top-level fields (undefined removes one). */
function spec(patch: Record<string, unknown> = {}): Record<string, unknown> {
  const s: Record<string, unknown> = {
    pipeline: { name: 'p' },
    transform: { cmd: ['sh'] },
    input: { pfs: { repo: 'images', glob: '/*' } },
    ...patch,
  };
  for (const k of Object.keys(s)) if (s[k] === undefined) delete s[k];
  return s;
}

function norm(raw: unknown) {
  return normalizeSpec(raw, { baseDir: '/base' });
}

function withInput(input: unknown) {
  return norm(spec({ input })).spec.input;
}

function errorOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('E_INVALID');
    return err as InvalidArgumentError;
  }
  throw new Error('expected an error');
}

function messageOf(fn: () => unknown): string {
  return errorOf(fn).message;
}

const pfs = (repo: string, glob = '/*', extra: Record<string, unknown> = {}) => ({ pfs: { repo, glob, ...extra } });

describe("Pachyderm's example specs load unchanged", () => {
  it('opencv edges', () => {
    const { spec: s, warnings } = only('edges.json');
    expect(s).toEqual({
      name: 'edges',
      description: 'A pipeline that performs image edge detection by using the OpenCV library.',
      transform: { cmd: ['python3', '/edges.py'], env: {}, accept_return_code: [], image: 'pachyderm/opencv:1.0' },
      input: { kind: 'pfs', name: 'images', repo: 'images', branch: 'master', glob: '/*' },
      output_branch: 'master',
      parallelism: CORES,
      datum_tries: 3,
      reprocess_spec: 'until_success',
      base_dir: FIXTURES,
      ignored: ['transform.image'],
    });
    // project "default" is the one local namespace: nothing to warn about.
    expect(warnings).toEqual(['transform.image is ignored: tusk runs transforms locally']);
    expect(describeInput(s.input)).toBe('images:/*');
  });

  it('opencv montage: a cross of two whole repos, sorted by name', () => {
    const { spec: s } = only('montage.json');
    expect(s.name).toBe('montage');
    expect(s.transform.cmd).toEqual(['sh']);
    expect(s.transform.stdin).toEqual([
      'montage -shadow -background SkyBlue -geometry 300x300+2+2 $(find /pfs -type f | sort) /pfs/out/montage.png',
    ]);
    expect(s.input).toEqual({
      kind: 'cross',
      inputs: [
        { kind: 'pfs', name: 'edges', repo: 'edges', branch: 'master', glob: '/' },
        { kind: 'pfs', name: 'images', repo: 'images', branch: 'master', glob: '/' },
      ],
    });
    expect(describeInput(s.input)).toBe('(edges:/ ⨯ images:/)');
  });

  it('opencv edges-union: union branches may share a name; a non-default project is ignored with a warning', () => {
    const { spec: s, warnings } = only('edges-union.pipeline.json');
    expect(describeInput(s.input)).toBe('(images:/* ∪ images:/*)');
    expect(s.ignored).toEqual(['transform.image', 'input.union[1].pfs.project']);
    expect(warnings).toContain('input.union[1].pfs.project is ignored: tusk has no projects ("staging" is read as the one local namespace)');
  });

  it('word count: scraper (acceptReturnCode), map, reduce', () => {
    const scraper = only('scraper.pipeline.json').spec;
    expect(scraper.transform.accept_return_code).toEqual([4, 5, 6, 7, 8]);
    expect(scraper.transform.stdin).toHaveLength(6);
    expect(describeInput(scraper.input)).toBe('urls:/*');
    const map = only('map.pipeline.json').spec;
    expect(map.transform.cmd).toEqual(['app', '/pfs/scraper/', '/pfs/out']);
    expect(describeInput(map.input)).toBe('scraper:/*/*');
    const reduce = only('reduce.pipeline.json').spec;
    expect(describeInput(reduce.input)).toBe('map:/');
    expect(reduce.transform.stdin?.[0]).toBe('mkdir /tmp/out');
    expect(reduce.ignored).toEqual([]);
  });

  it('word count as YAML documents separated by ---', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'wordcount.yaml'), 'utf8');
    const raws = parseSpecText(text, { baseDir: FIXTURES });
    expect(raws.map((r) => [r.index, r.line])).toEqual([
      [0, 2],
      [1, 19],
      [2, 28],
    ]);
    const [scraper, map, reduce] = raws.map((r) => normalizeSpec(r.value, { baseDir: r.baseDir }).spec);
    expect(scraper.transform.accept_return_code).toEqual([4, 5, 6, 7, 8]);
    expect(map.input).toEqual(only('map.pipeline.json').spec.input);
    expect(reduce.input).toEqual(only('reduce.pipeline.json').spec.input);
    expect(reduce.parallelism).toBe(1);
    expect(reduce.datum_tries).toBe(1);
  });

  it('inner join: join_on "$1" on both sides', () => {
    const { spec: s } = only('inner_join.json');
    expect(s.input).toEqual({
      kind: 'join',
      inputs: [
        { kind: 'pfs', name: 'purchases', repo: 'purchases', branch: 'master', glob: '/*_STOREID(*).txt', join_on: '$1' },
        { kind: 'pfs', name: 'stores', repo: 'stores', branch: 'master', glob: '/STOREID(*).txt', join_on: '$1' },
      ],
    });
    expect(describeInput(s.input)).toBe('(purchases:/*_STOREID(*).txt ⋈ stores:/STOREID(*).txt)');
    expect(s.transform.cmd).toEqual(['python', 'inner/main.py']);
  });

  it('outer join: outer_join on both sides; the camelCase YAML spelling gives the same spec', () => {
    const { spec: s } = only('outer_join.json');
    expect(s.input.kind).toBe('join');
    const inputs = (s.input as { inputs: InputSpec[] }).inputs;
    expect(inputs.map((i) => i.kind === 'pfs' && [i.name, i.join_on, i.outer_join])).toEqual([
      ['returns', '$1', true],
      ['stores', '$1', true],
    ]);
    const camel = only('joins-camel.yaml').spec;
    expect(camel).toEqual(s);
    expect(specHash(camel)).toBe(specHash(s));
  });

  it('group: retail revenue over three repos and labresults by hospital', () => {
    const retail = only('retail_group.pipeline.json').spec;
    expect(describeInput(retail.input)).toBe(
      '(Group: purchases:/*_STOREID(*).txt, returns:/*_STOREID(*).txt, stores:/STOREID(*).txt)',
    );
    const lab = only('lab_group_by_hospital.pipeline.json').spec;
    expect(lab.input).toEqual({
      kind: 'group',
      inputs: [{ kind: 'pfs', name: 'labresults', repo: 'labresults', branch: 'master', glob: '/*-CLIA(*).txt', group_by: '$1' }],
    });
  });

  it('group.json: two specs laid end to end, with the 1.x enable_stats field', () => {
    const specs = loadFixture('group.json');
    expect(specs.map((s) => s.spec.name)).toEqual(['group_by_hospital', 'group_by_patient']);
    expect(specs[1].spec.input).toEqual({
      kind: 'group',
      inputs: [{ kind: 'pfs', name: 'labresults', repo: 'labresults', branch: 'master', glob: '/*-PATID(*)-*.txt', group_by: '$1' }],
    });
    expect(specs[0].spec.transform.stdin?.[0]).toBe('PATTERN=.*CLIA\\(.*\\).txt');
    expect(specs[0].spec.ignored).toEqual(['enable_stats']);
    expect(specs[0].warnings).toEqual(['enable_stats is ignored: a Pachyderm 1.x field; tusk always keeps datum stats']);
  });

  it('shuffle: emptyFiles on both union branches', () => {
    const { spec: s } = only('shuffle.pipeline.json');
    expect(s.input).toEqual({
      kind: 'union',
      inputs: [
        { kind: 'pfs', name: 'fruits', repo: 'fruits', branch: 'master', glob: '/*.jpeg', empty_files: true },
        { kind: 'pfs', name: 'pricing', repo: 'pricing', branch: 'master', glob: '/*.json', empty_files: true },
      ],
    });
    expect(s.transform.cmd).toEqual(['/bin/bash']);
    expect(s.transform.image).toBe('ubuntu:20.04');
  });
});

describe('parseSpecText', () => {
  const a = '{"pipeline": {"name": "a"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "r", "glob": "/"}}}';
  const b = '{"pipeline": {"name": "b"}, "transform": {"cmd": ["sh"], "stdin": ["echo \\"}{\\" \'{\'"]}, "input": {"pfs": {"repo": "r", "glob": "/"}}}';
  const names = (text: string) => parseSpecText(text, { baseDir: '/x' }).map((r) => (r.value as { pipeline: { name: string } }).pipeline.name);

  it('reads concatenated JSON objects, with braces and escaped quotes inside strings', () => {
    expect(names(a + b)).toEqual(['a', 'b']);
    expect(names(`${a}\n${b}\n`)).toEqual(['a', 'b']);
    expect(names(`\n\n  ${b}  ${a}`)).toEqual(['b', 'a']);
    const raws = parseSpecText(`${a}\n\n${b}`, { baseDir: '/x', source: 'f.json' });
    expect(raws.map((r) => [r.index, r.line, r.source, r.baseDir])).toEqual([
      [0, 1, 'f.json', '/x'],
      [1, 3, 'f.json', '/x'],
    ]);
    expect((raws[1].value as { transform: { stdin: string[] } }).transform.stdin).toEqual([`echo "}{" '{'`]);
  });

  it('reads a top-level list, in JSON and YAML', () => {
    expect(names(`[${a}, ${b}]`)).toEqual(['a', 'b']);
    expect(names('- pipeline: {name: x}\n- pipeline: {name: y}\n')).toEqual(['x', 'y']);
  });

  it('reads YAML documents, skipping empty ones', () => {
    expect(names('---\npipeline:\n  name: x\n---\n---\npipeline:\n  name: y\n---\n')).toEqual(['x', 'y']);
  });

  it('reads YAML flow style that only looks like JSON', () => {
    expect(names('{pipeline: {name: x}, transform: {cmd: [sh]}}')).toEqual(['x']);
  });

  it('strips a byte-order mark', () => {
    expect(names(`\uFEFF${a}`)).toEqual(['a']);
  });

  it('reports JSON syntax errors with a line and column', () => {
    const err = errorOf(() => parseSpecText('{\n  "pipeline": {"name": "a"},\n  "input" 1\n}', { baseDir: '/x', source: 'p.json' }));
    expect(err.message).toBe('malformed pipeline spec: Unexpected number at line 3, column 11');
    expect(err.hint).toBe('in p.json: check the JSON syntax there');
    expect(messageOf(() => parseSpecText('{"a": 1,', { baseDir: '/x' }))).toMatch(/^malformed pipeline spec: .* at line 1, column \d+$/);
    expect(messageOf(() => parseSpecText(`${a} x`, { baseDir: '/x' }))).toBe(
      `malformed pipeline spec: unexpected "x" after a JSON value at line 1, column ${a.length + 2}`,
    );
  });

  it('reports YAML syntax errors on one line, with the line and column', () => {
    expect(messageOf(() => parseSpecText('pipeline:\n  name: x\ninput\n  pfs: 1\n', { baseDir: '/x' }))).toBe(
      'malformed pipeline spec: Implicit keys need to be on a single line at line 3, column 1',
    );
    expect(messageOf(() => parseSpecText('a: 1\na: 2\n', { baseDir: '/x' }))).toBe(
      'malformed pipeline spec: Map keys must be unique at line 2, column 1',
    );
  });

  it('rejects a file without specs', () => {
    expect(messageOf(() => parseSpecText('', { baseDir: '/x' }))).toBe('malformed pipeline spec: no pipeline spec found');
    expect(messageOf(() => parseSpecText('# nothing\n---\n', { baseDir: '/x' }))).toBe('malformed pipeline spec: no pipeline spec found');
    expect(messageOf(() => parseSpecText('[]', { baseDir: '/x' }))).toBe('malformed pipeline spec: no pipeline spec found');
  });
});

describe('normalizeSpec: defaults', () => {
  it('fills in defaults and cleans the glob', () => {
    const { spec: s, raw, warnings } = norm(spec({ input: { pfs: { repo: 'images', glob: '*' } } }));
    expect(s).toEqual({
      name: 'p',
      description: '',
      transform: { cmd: ['sh'], env: {}, accept_return_code: [] },
      input: { kind: 'pfs', name: 'images', repo: 'images', branch: 'master', glob: '/*' },
      output_branch: 'master',
      parallelism: CORES,
      datum_tries: 3,
      reprocess_spec: 'until_success',
      base_dir: '/base',
      ignored: [],
    });
    expect(raw).toEqual(spec({ input: { pfs: { repo: 'images', glob: '*' } } }));
    expect(warnings).toEqual([]);
    expect(withInput(pfs('r', 'dir/*/'))).toMatchObject({ glob: '/dir/*' });
    expect(withInput(pfs('r', '/'))).toMatchObject({ glob: '/' });
  });

  it('parallelism 0 means one worker per core; datum_tries 0 means the default, as in Pachyderm', () => {
    expect(norm(spec({ parallelism_spec: { constant: 0 }, datum_tries: 0 })).spec).toMatchObject({ parallelism: CORES, datum_tries: 3 });
    expect(norm(spec({ parallelism_spec: { constant: 4 }, datum_tries: 5 })).spec).toMatchObject({ parallelism: 4, datum_tries: 5 });
    // protobuf JSON writes 64-bit integers as strings
    expect(norm(spec({ parallelism_spec: { constant: '2' } })).spec.parallelism).toBe(2);
  });

  it('keeps the optional fields that were set', () => {
    const { spec: s } = norm(
      spec({
        description: 'd',
        output_branch: 'out',
        reprocess_spec: 'every_job',
        datum_timeout: '1m30s',
        job_timeout: '1h',
        salt: 'abc',
        update: true,
        reprocess: false,
        transform: {
          cmd: ['python3', 'x.py'],
          stdin: 'echo hi',
          err_cmd: ['sh'],
          err_stdin: ['exit 0'],
          env: { A: '1', B: '' },
          accept_return_code: [1, 2],
          working_dir: 'src',
        },
        input: pfs('images', '/*', { name: 'imgs', branch: 'dev', commit: 'b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a', lazy: true, empty_files: true, repo_type: 'user', s3: false }),
      }),
    );
    expect(s).toMatchObject({
      description: 'd',
      output_branch: 'out',
      reprocess_spec: 'every_job',
      datum_timeout_ms: 90_000,
      job_timeout_ms: 3_600_000,
      transform: {
        cmd: ['python3', 'x.py'],
        stdin: ['echo hi'],
        err_cmd: ['sh'],
        err_stdin: ['exit 0'],
        env: { A: '1', B: '' },
        accept_return_code: [1, 2],
        working_dir: 'src',
      },
      input: { kind: 'pfs', name: 'imgs', repo: 'images', branch: 'dev', glob: '/*', commit: 'b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a', lazy: true, empty_files: true },
    });
  });

  it('passes an ml transform through as is', () => {
    const ml = { model: 'resnet', options: { k: [1, 2] } };
    expect(norm(spec({ transform: { ml } })).spec.transform).toEqual({ cmd: [], env: {}, accept_return_code: [], ml });
  });

  it('treats null like an absent field', () => {
    expect(norm(spec({ description: null, transform: { cmd: ['sh'], stdin: null } })).spec).toMatchObject({ description: '' });
  });
});

describe('normalizeSpec: camelCase', () => {
  it('accepts lowerCamelCase for every field and gives the same spec as snake_case', () => {
    const snake = spec({
      output_branch: 'out',
      parallelism_spec: { constant: 2 },
      datum_tries: 2,
      datum_timeout: '30s',
      job_timeout: '1h',
      reprocess_spec: 'every_job',
      transform: {
        cmd: ['sh'],
        err_cmd: ['true'],
        err_stdin: ['x'],
        accept_return_code: [3],
        working_dir: 'w',
        image: 'img',
        image_pull_secrets: ['s'],
        memory_volume: true,
        datum_batching: true,
      },
      input: {
        cross: [
          { join: [pfs('a', '/(*)', { join_on: '$1', outer_join: true, empty_files: true, repo_type: 'user' }), pfs('b', '/(*)', { join_on: '$1' })] },
          { group: [pfs('c', '/(*)', { group_by: '$1' })] },
        ],
      },
      resource_limits: { cpu: 1 },
      sidecar_resource_requests: { memory: '1G' },
      scheduling_spec: { node_selector: { a: 'b' } },
      pod_spec: '{}',
      s3_out: false,
      maximum_expected_uptime: '10m',
      datum_set_spec: { number: 1 },
    });
    const camel = spec({
      outputBranch: 'out',
      parallelismSpec: { constant: 2 },
      datumTries: 2,
      datumTimeout: '30s',
      jobTimeout: '1h',
      reprocessSpec: 'every_job',
      transform: {
        cmd: ['sh'],
        errCmd: ['true'],
        errStdin: ['x'],
        acceptReturnCode: [3],
        workingDir: 'w',
        image: 'img',
        imagePullSecrets: ['s'],
        memoryVolume: true,
        datumBatching: true,
      },
      input: {
        cross: [
          { join: [pfs('a', '/(*)', { joinOn: '$1', outerJoin: true, emptyFiles: true, repoType: 'user' }), pfs('b', '/(*)', { joinOn: '$1' })] },
          { group: [pfs('c', '/(*)', { groupBy: '$1' })] },
        ],
      },
      resourceLimits: { cpu: 1 },
      sidecarResourceRequests: { memory: '1G' },
      schedulingSpec: { node_selector: { a: 'b' } },
      podSpec: '{}',
      s3Out: false,
      maximumExpectedUptime: '10m',
      datumSetSpec: { number: 1 },
    });
    const a = norm(snake);
    const b = norm(camel);
    // `ignored` and warnings name fields as the user spelled them; everything else is identical.
    expect({ ...b.spec, ignored: [] }).toEqual({ ...a.spec, ignored: [] });
    expect(b.spec.ignored).toContain('transform.imagePullSecrets');
    expect(a.spec.ignored).toContain('transform.image_pull_secrets');
    expect(specHash(a.spec)).toBe(specHash(b.spec));
  });

  it('rejects the same field given in both spellings', () => {
    expect(messageOf(() => withInput(pfs('a', '/(*)', { join_on: '$1', joinOn: '$1' })))).toBe(
      'malformed pipeline spec: field "input.pfs.join_on" is given twice, as "join_on" and "joinOn"',
    );
  });
});

describe('normalizeSpec: missing parts', () => {
  it('names Pachyderm\'s messages for missing pipeline, name and transform', () => {
    expect(messageOf(() => norm('x'))).toBe('malformed pipeline spec: expected an object, got string "x"');
    expect(messageOf(() => norm(spec({ pipeline: undefined })))).toBe('no `pipeline` specified');
    expect(messageOf(() => norm(spec({ pipeline: {} })))).toBe('no pipeline `name` specified');
    expect(messageOf(() => norm(spec({ pipeline: { name: '' } })))).toBe('no pipeline `name` specified');
    expect(messageOf(() => norm(spec({ transform: undefined })))).toBe('pipeline must specify a transform');
  });

  it('checks the pipeline name', () => {
    const long = 'a'.repeat(64);
    expect(messageOf(() => norm(spec({ pipeline: { name: long } })))).toBe(
      `pipeline.name: pipeline name is 64 characters long, but must have at most 63: "${long}"`,
    );
    expect(norm(spec({ pipeline: { name: 'a'.repeat(63) } })).spec.name).toHaveLength(63);
    expect(messageOf(() => norm(spec({ pipeline: { name: '_p' } })))).toBe(
      'pipeline.name: pipeline names must start with an alphanumeric character',
    );
    expect(messageOf(() => norm(spec({ pipeline: { name: 'a.b' } })))).toBe(
      'pipeline.name: pipeline name (a.b) invalid: only alphanumeric characters, underscores, and dashes are allowed',
    );
  });

  it('needs exactly one of cmd or ml', () => {
    for (const transform of [{}, { cmd: [] }, { cmd: [''] }, { stdin: ['x'] }]) {
      expect(messageOf(() => norm(spec({ transform })))).toBe('transform: invalid pipeline transform, no command specified');
    }
    expect(messageOf(() => norm(spec({ transform: { cmd: ['sh'], ml: {} } })))).toBe('transform: "cmd" and "ml" are mutually exclusive');
    expect(messageOf(() => norm(spec({ transform: { ml: 'x' } })))).toBe('malformed pipeline spec: transform.ml: expected object');
  });

  it('checks the input tree', () => {
    expect(messageOf(() => norm(spec({ input: undefined })))).toBe('no input set');
    expect(messageOf(() => withInput({}))).toBe('input: no input set');
    expect(messageOf(() => withInput({ cross: [pfs('a'), {}] }))).toBe('input.cross[1]: no input set');
    expect(messageOf(() => withInput({ cross: [] }))).toBe('input.cross: no input set: a cross needs at least one input');
    expect(messageOf(() => withInput({ ...pfs('a'), cross: [pfs('b')] }))).toBe('input: multiple input types set (pfs, cross)');
    expect(messageOf(() => withInput({ union: [{ ...pfs('a'), cron: { name: 't', spec: '@daily' } }] }))).toBe(
      'input.union[0]: multiple input types set (pfs, cron)',
    );
    expect(messageOf(() => withInput({ pfs: { glob: '/' } }))).toBe('input.pfs: input must specify a repo');
    expect(messageOf(() => withInput({ cross: [pfs('a'), { pfs: { repo: 'b' } }] }))).toBe('input.cross[1].pfs: input must specify a glob');
    expect(messageOf(() => withInput({ pfs: { repo: 'b', glob: '' } }))).toBe('input.pfs: input must specify a glob');
    expect(messageOf(() => withInput(pfs('a.b')))).toBe(
      'input.pfs.repo: repo name (a.b) invalid: only alphanumeric characters, underscores, and dashes are allowed',
    );
    expect(messageOf(() => withInput(pfs('a', '/', { branch: 'x@y' })))).toBe(
      'input.pfs.branch: branch name (x@y) invalid: only alphanumeric characters, underscores, and dashes are allowed',
    );
    expect(messageOf(() => withInput(pfs('a', '/', { name: 'x y' })))).toBe(
      'input.pfs.name: input name (x y) invalid: only alphanumeric characters, underscores, and dashes are allowed',
    );
  });

  it('rejects an input named out', () => {
    expect(messageOf(() => withInput(pfs('out')))).toBe(
      'input.pfs: input cannot be named "out", as pachyderm already creates /pfs/out to collect job output',
    );
    expect(messageOf(() => withInput(pfs('a', '/', { name: 'out' })))).toBe(
      'input.pfs: input cannot be named "out", as pachyderm already creates /pfs/out to collect job output',
    );
    expect(messageOf(() => withInput({ cron: { name: 'out', spec: '@daily' } }))).toBe(
      'input.cron: input cannot be named "out", as pachyderm already creates /pfs/out to collect job output',
    );
  });

  it('needs unique names within a datum; union branches may share one', () => {
    expect(messageOf(() => withInput({ cross: [pfs('a'), pfs('a')] }))).toBe('input.cross[1].pfs: name "a" was used more than once');
    expect(messageOf(() => withInput({ cross: [pfs('a'), pfs('b', '/', { name: 'a' })] }))).toBe(
      'input.cross[1].pfs: name "a" was used more than once',
    );
    expect(withInput({ union: [pfs('a'), pfs('b', '/', { name: 'a' })] })).toMatchObject({ kind: 'union' });
    expect(withInput({ cross: [{ union: [pfs('a'), pfs('a')] }, pfs('b')] })).toMatchObject({ kind: 'cross' });
    // what a union presents cannot clash with what it is crossed with
    expect(messageOf(() => withInput({ cross: [{ union: [pfs('a'), pfs('b')] }, pfs('b')] }))).toBe(
      'input.cross[1].pfs: name "b" was used more than once',
    );
    expect(messageOf(() => withInput({ group: [pfs('a', '/(*)', { group_by: '$1' }), pfs('a', '/x(*)', { group_by: '$1' })] }))).toBe(
      'input.group[1].pfs: name "a" was used more than once',
    );
    expect(messageOf(() => withInput({ cross: [pfs('t'), { cron: { name: 't', spec: '@daily' } }] }))).toBe(
      'input.cross[1].cron: name "t" was used more than once',
    );
  });

  it('needs join_on in a join and group_by in a group, over capture groups the glob has', () => {
    const joined = (...inputs: unknown[]) => () => withInput({ join: inputs });
    expect(messageOf(joined(pfs('a', '/(*)', { join_on: '$1' }), pfs('b', '/(*)')))).toBe('input.join[1].pfs: join inputs must specify join_on');
    expect(errorOf(joined(pfs('a', '/(*)', { join_on: '$1' }), pfs('b', '/(*)'))).hint).toMatch(/join_on "\$1"/);
    expect(messageOf(() => withInput({ group: [pfs('a', '/(*)', { join_on: '$1' })] }))).toBe('input.group[0].pfs: group inputs must specify group_by');
    expect(messageOf(joined(pfs('a', '/(*)', { join_on: '$1' }), { cross: [pfs('b')] }))).toBe('input.join[1]: join inputs must be pfs inputs');
    expect(messageOf(joined(pfs('a', '/STOREID(*).txt', { join_on: '$2' }), pfs('b', '/(*)', { join_on: '$1' })))).toBe(
      'input.join[0].pfs.join_on: join_on "$2" refers to capture group 2 but glob "/STOREID(*).txt" has only 1',
    );
    expect(messageOf(joined(pfs('a', '/(*)', { join_on: '$1' }), pfs('b', '/*', { joinOn: '$1' })))).toBe(
      'input.join[1].pfs.joinOn: join_on "$1" refers to capture group 1 but glob "/*" has no capture groups',
    );
    expect(messageOf(() => withInput({ group: [pfs('a', '/(*)/(*)', { groupBy: '$3' })] }))).toBe(
      'input.group[0].pfs.groupBy: group_by "$3" refers to capture group 3 but glob "/(*)/(*)" has only 2',
    );
    expect(withInput({ group: [pfs('a', '/(*)-(*)-(*)', { group_by: '$3' })] })).toMatchObject({ kind: 'group' });
  });

  it('warns about join_on, outer_join and group_by where they have no effect', () => {
    const { warnings } = norm(spec({ input: { cross: [pfs('a', '/(*)', { join_on: '$1', outer_join: true }), pfs('b', '/(*)', { groupBy: '$1' })] } }));
    expect(warnings).toEqual([
      'input.cross[0].pfs.join_on is ignored: the input is not part of a join',
      'input.cross[0].pfs.outer_join is ignored: the input is not part of a join',
      'input.cross[1].pfs.groupBy is ignored: the input is not part of a group',
    ]);
  });

  it('wraps bad globs with the field path', () => {
    const err = errorOf(() => withInput({ cross: [pfs('a'), pfs('b', '/[a')] }));
    expect(err.message).toBe('input.cross[1].pfs.glob: invalid glob "/[a": unclosed "["');
    expect(err.hint).toMatch(/escape/);
  });

  it('checks reprocess_spec', () => {
    expect(messageOf(() => norm(spec({ reprocess_spec: 'always' })))).toBe(
      "invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job'",
    );
    expect(norm(spec({ reprocess_spec: '' })).spec.reprocess_spec).toBe('until_success');
  });

  it('checks output_branch, pfs.commit, env names', () => {
    expect(messageOf(() => norm(spec({ output_branch: 'a:b' })))).toMatch(/^output_branch: branch name \(a:b\) invalid/);
    expect(messageOf(() => withInput(pfs('a', '/', { commit: 'master' })))).toBe('input.pfs.commit: "master" is not a commit id');
    expect(messageOf(() => norm(spec({ transform: { cmd: ['sh'], env: { 'A=B': 'x' } } })))).toBe(
      'malformed pipeline spec: transform.env.A=B: invalid environment variable name',
    );
  });
});

describe('normalizeSpec: unknown fields and wrong types', () => {
  it('names the full path of an unknown field and suggests the closest known one', () => {
    const err = errorOf(() => withInput({ cross: [pfs('a'), { pfs: { repo: 'b', globb: '/' } }] }));
    expect(err.message).toBe('malformed pipeline spec: unknown field "input.cross[1].pfs.globb"');
    expect(err.hint).toBe('did you mean "glob"?');
    expect(errorOf(() => norm(spec({ transfrom: {} }))).hint).toBe('did you mean "transform"?');
    expect(errorOf(() => withInput(pfs('a', '/(*)', { joinOm: '$1' }))).hint).toBe('did you mean "joinOn"?');
    expect(errorOf(() => withInput(pfs('a', '/(*)', { JoinOn: '$1' }))).hint).toBe('did you mean "joinOn"?');
    expect(errorOf(() => norm(spec({ reprocessSpecs: 'every_job' }))).hint).toBe('did you mean "reprocessSpec"?');
    const far = errorOf(() => norm(spec({ pipeline: { name: 'p', zzz: 1 } })));
    expect(far.message).toBe('malformed pipeline spec: unknown field "pipeline.zzz"');
    expect(far.hint).toBe('fields allowed here: name, project');
    expect(messageOf(() => norm(spec({ parallelism_spec: { coefficient: 1 } })))).toBe(
      'malformed pipeline spec: unknown field "parallelism_spec.coefficient"',
    );
    expect(messageOf(() => norm(spec({ transform: { cmd: ['sh'], Stdin: ['x'] } })))).toBe('malformed pipeline spec: unknown field "transform.Stdin"');
  });

  it('names the path and the expected type of a mistyped field', () => {
    const err = errorOf(() => withInput({ cross: [pfs('a'), { pfs: { repo: 'b', glob: 5 } }] }));
    expect(err.message).toBe('malformed pipeline spec: input.cross[1].pfs.glob: expected string');
    expect(err.hint).toBe('got number 5');
    const cases: [Record<string, unknown>, string][] = [
      [{ pipeline: 'p' }, 'pipeline: expected object'],
      [{ datum_tries: 'x' }, 'datum_tries: expected integer'],
      [{ datum_tries: 1.5 }, 'datum_tries: expected integer'],
      [{ datum_tries: -1 }, 'datum_tries: must be at least 0, got -1'],
      [{ parallelism_spec: { constant: -2 } }, 'parallelism_spec.constant: must be at least 0, got -2'],
      [{ description: 1 }, 'description: expected string'],
      [{ update: 'yes' }, 'update: expected boolean'],
      [{ salt: 1 }, 'salt: expected string'],
      [{ transform: { cmd: 'sh' } }, 'transform.cmd: expected list of strings'],
      [{ transform: { cmd: ['sh', 1] } }, 'transform.cmd[1]: expected string'],
      [{ transform: { cmd: ['sh'], stdin: [1] } }, 'transform.stdin[0]: expected string'],
      [{ transform: { cmd: ['sh'], env: ['A=1'] } }, 'transform.env: expected map of strings'],
      [{ transform: { cmd: ['sh'], env: { A: 1 } } }, 'transform.env.A: expected string'],
      [{ transform: { cmd: ['sh'], acceptReturnCode: ['x'] } }, 'transform.acceptReturnCode[0]: expected integer'],
      [{ transform: { cmd: ['sh'], acceptReturnCode: 4 } }, 'transform.acceptReturnCode: expected list'],
      [{ input: { cross: pfs('a') } }, 'input.cross: expected list'],
      [{ input: { cross: ['a'] } }, 'input.cross[0]: expected object'],
      [{ input: pfs('a', '/', { outer_join: 'yes' }) }, 'input.pfs.outer_join: expected boolean'],
      [{ input: pfs('a', '/', { emptyFiles: 1 }) }, 'input.pfs.emptyFiles: expected boolean'],
      [{ resource_limits: 'big' }, 'resource_limits: expected object'],
      [{ autoscaling: 'on' }, 'autoscaling: expected boolean'],
      [{ transform: { cmd: ['sh'], image: ['x'] } }, 'transform.image: expected string'],
    ];
    for (const [patch, msg] of cases) expect(messageOf(() => norm(spec(patch)))).toBe(`malformed pipeline spec: ${msg}`);
    expect(errorOf(() => norm(spec({ transform: { cmd: ['sh'], env: { A: 1 } } }))).hint).toMatch(/quote the value/);
  });
});

describe('durations', () => {
  it('parses Go duration syntax into milliseconds', () => {
    const cases: [string, number][] = [
      ['30s', 30_000],
      ['1m30s', 90_000],
      ['1h', 3_600_000],
      ['500ms', 500],
      ['1.5s', 1500],
      ['.5s', 500],
      ['2h45m', 9_900_000],
      ['1h0m0s', 3_600_000],
      ['1500us', 2],
      ['1µs', 1],
      ['0', 0],
      ['-1s', -1000],
      ['+5m', 300_000],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), text).toBe(ms);
  });

  it('rejects what Go rejects', () => {
    for (const text of ['', '30', 's', '1.s5', '1 s', 'abc', '.s']) {
      expect(messageOf(() => parseDuration(text)), text).toMatch(/^invalid duration/);
    }
    expect(messageOf(() => parseDuration('5d'))).toBe('invalid duration "5d": unknown unit "d"');
  });

  it('names the field of a bad duration in a spec', () => {
    expect(norm(spec({ datum_timeout: '500ms' })).spec.datum_timeout_ms).toBe(500);
    expect(messageOf(() => norm(spec({ datum_timeout: 'abc' })))).toBe('malformed pipeline spec: datum_timeout: invalid duration "abc"');
    expect(messageOf(() => norm(spec({ jobTimeout: '5d' })))).toBe('malformed pipeline spec: jobTimeout: invalid duration "5d": unknown unit "d"');
    expect(messageOf(() => norm(spec({ datum_timeout: '0s' })))).toBe('malformed pipeline spec: datum_timeout: duration "0s" must be positive');
    const err = errorOf(() => norm(spec({ datum_timeout: 30 })));
    expect(err.message).toBe('malformed pipeline spec: datum_timeout: expected duration string');
    expect(err.hint).toMatch(/"30s"/);
  });
});

describe('cron inputs', () => {
  it('accepts standard specs and descriptors', () => {
    const good = [
      '* * * * *',
      '*/10 * * * *',
      '0 0 1 1 *',
      '0,15,30,45 9-17 * * mon-fri',
      '5 4 * JAN,jul SUN',
      '0 0 ? * ?',
      '10/5 * * * *',
      '0-59/2 0-23 1-31 1-12 0-6',
      '@every 10s',
      '@every 1h30m',
      '@hourly',
      '@daily',
      '@midnight',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      'TZ=Europe/Paris 0 9 * * *',
      'CRON_TZ=UTC @daily',
    ];
    for (const s of good) expect(() => validateCronSpec(s), s).not.toThrow();
  });

  it('rejects bad specs with error parsing cron-spec', () => {
    const bad: [string, string][] = [
      ['', 'empty spec string'],
      ['* * * *', 'expected exactly 5 fields, found 4: [* * * *]'],
      ['0 0 * * * *', 'expected exactly 5 fields, found 6: [0 0 * * * *]'],
      ['60 * * * *', 'end of range (60) above maximum (59) for minute: 60'],
      ['* 24 * * *', 'end of range (24) above maximum (23) for hour: 24'],
      ['* * 0 * *', 'beginning of range (0) below minimum (1) for day of month: 0'],
      ['* * * 13 *', 'end of range (13) above maximum (12) for month: 13'],
      ['* * * * 7', 'end of range (7) above maximum (6) for day of week: 7'],
      ['* * * foo *', 'failed to parse int from "foo" in the month field: foo'],
      ['5-2 * * * *', 'beginning of range (5) beyond end of range (2): 5-2'],
      ['*/0 * * * *', 'step of range should be a positive number: */0'],
      ['1-2-3 * * * *', 'too many hyphens: 1-2-3'],
      ['*/2/3 * * * *', 'too many slashes: */2/3'],
      ['1,,2 * * * *', 'failed to parse int from "" in the minute field: '],
      ['@often', 'unrecognized descriptor: @often'],
      ['@every', 'failed to parse duration @every: invalid duration ""'],
      ['@every soon', 'failed to parse duration @every soon: invalid duration "soon"'],
      ['@every 0s', '@every needs a positive duration, got "0s"'],
      ['TZ=Mars/Base 0 9 * * *', 'provided bad location Mars/Base: unknown time zone Mars/Base'],
    ];
    for (const [s, detail] of bad) expect(messageOf(() => validateCronSpec(s)), s).toBe(`error parsing cron-spec: ${detail}`);
  });

  it('normalises a cron input: name required, repo defaults to <pipeline>_<name>', () => {
    expect(withInput({ cron: { name: 'tick', spec: '@every 10s' } })).toEqual({
      kind: 'cron',
      name: 'tick',
      spec: '@every 10s',
      repo: 'p_tick',
      overwrite: false,
    });
    expect(withInput({ cron: { name: 'tick', spec: '@daily', repo: 'ticks', overwrite: true, start: '2024-01-02T15:04:05Z' } })).toEqual({
      kind: 'cron',
      name: 'tick',
      spec: '@daily',
      repo: 'ticks',
      overwrite: true,
      start: '2024-01-02T15:04:05Z',
    });
    expect(messageOf(() => withInput({ cron: { spec: '@daily' } }))).toBe('input.cron: input must specify a name');
    expect(messageOf(() => withInput({ cron: { name: 't' } }))).toBe('input.cron.spec: error parsing cron-spec: empty spec string');
    expect(messageOf(() => withInput({ cross: [pfs('a'), { cron: { name: 't', spec: '61 * * * *' } }] }))).toBe(
      'input.cross[1].cron.spec: error parsing cron-spec: end of range (61) above maximum (59) for minute: 61',
    );
    expect(messageOf(() => withInput({ cron: { name: 't', spec: '@daily', start: 'yesterday' } }))).toBe(
      'malformed pipeline spec: input.cron.start: invalid timestamp "yesterday"',
    );
    expect(messageOf(() => withInput({ cron: { name: 't', spec: '@daily', glob: '/' } }))).toBe(
      'malformed pipeline spec: unknown field "input.cron.glob"',
    );
  });
});

describe('cluster-only and unsupported fields', () => {
  it('records cluster-only fields in `ignored`, with a warning each', () => {
    const { spec: s, warnings } = norm(
      spec({
        resource_requests: { cpu: 1, memory: '64M' },
        resource_limits: { cpu: 2, gpu: { type: 'nvidia', number: 1 } },
        sidecar_resource_limits: { cpu: 1 },
        sidecar_resource_requests: { cpu: 1 },
        autoscaling: true,
        scheduling_spec: { node_selector: { disk: 'ssd' } },
        pod_spec: '{"a": 1}',
        pod_patch: '[]',
        tolerations: [{ key: 'k', operator: 'EXISTS' }],
        metadata: { labels: { a: 'b' } },
        service: { internal_port: 8000, external_port: 30000 },
        datum_set_spec: { number: 10 },
        determined: { workspaces: ['w'] },
        maximum_expected_uptime: '1h',
        transform: {
          cmd: ['sh'],
          image: 'ubuntu:20.04',
          image_pull_secrets: ['regcred'],
          user: 'root',
          dockerfile: 'Dockerfile',
          memory_volume: true,
          secrets: [{ name: 's', key: 'k', env_var: 'S' }],
          debug: true,
          datum_batching: true,
        },
      }),
    );
    const expected = [
      'transform.image',
      'transform.image_pull_secrets',
      'transform.user',
      'transform.dockerfile',
      'transform.memory_volume',
      'transform.secrets',
      'transform.debug',
      'transform.datum_batching',
      'resource_requests',
      'resource_limits',
      'sidecar_resource_limits',
      'sidecar_resource_requests',
      'autoscaling',
      'scheduling_spec',
      'pod_spec',
      'pod_patch',
      'tolerations',
      'metadata',
      'service',
      'datum_set_spec',
      'determined',
      'maximum_expected_uptime',
    ];
    expect(s.ignored).toEqual(expected);
    expect(warnings).toEqual(expected.map((f) => `${f} is ignored: tusk runs transforms locally`));
    expect(s.transform.image).toBe('ubuntu:20.04');
  });

  it('accepts cluster-only fields that ask for nothing without a warning', () => {
    const { spec: s, warnings } = norm(spec({ autoscaling: false, s3_out: false, tolerations: [], metadata: {}, transform: { cmd: ['sh'], image: '', debug: false } }));
    expect(s.ignored).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('rejects what tusk cannot do', () => {
    expect(messageOf(() => norm(spec({ spout: {} })))).toBe('spout: spout pipelines are not supported by tusk');
    expect(messageOf(() => norm(spec({ tf_job: { tf_job: '' } })))).toBe('tf_job: embedding TFJobs in pipelines is not supported yet');
    expect(messageOf(() => norm(spec({ s3Out: true })))).toBe('s3Out: s3_out is not supported by tusk: there is no S3 gateway');
    expect(messageOf(() => withInput(pfs('a', '/', { s3: true })))).toBe('input.pfs.s3: s3 inputs are not supported by tusk: there is no S3 gateway');
    expect(messageOf(() => withInput(pfs('a', '/', { repo_type: 'spec' })))).toBe(
      'input.pfs.repo_type: repo_type "spec" is not supported: tusk pipelines read user repos only',
    );
    expect(messageOf(() => withInput(pfs('a', '/', { trigger: { branch: 'staging' } })))).toBe(
      'input.pfs.trigger: input triggers are not supported by tusk',
    );
    expect(messageOf(() => norm(spec({ pod_spec: '{bad' })))).toBe('pod_spec: malformed PodSpec');
    expect(messageOf(() => norm(spec({ podPatch: '[' })))).toBe('podPatch: malformed PodPatch');
  });

  it('accepts egress to a local directory only', () => {
    expect(norm(spec({ egress: { URL: 'file:///tmp/exported' } })).spec.egress).toBe('/tmp/exported');
    expect(norm(spec({ egress: { URL: 'exported' } })).spec.egress).toBe(path.resolve('/base', 'exported'));
    expect(norm(spec({ egress: { object_storage: { url: 'file:///srv/x' } } })).spec.egress).toBe('/srv/x');
    expect(norm(spec({})).spec.egress).toBeUndefined();
    expect(messageOf(() => norm(spec({ egress: { URL: 's3://bucket/dir' } })))).toBe(
      'egress.URL: only local egress is supported, got "s3://bucket/dir"',
    );
    expect(messageOf(() => norm(spec({ egress: { sql_database: { url: 'snowflake://x' } } })))).toBe(
      'egress.sql_database: egress to a SQL database is not supported by tusk',
    );
    expect(messageOf(() => norm(spec({ egress: {} })))).toBe('egress: egress must specify a URL');
  });

  it('accepts the request flags salt, update and reprocess', () => {
    const { raw } = norm(spec({ salt: 'f00d', update: true, reprocess: true }));
    expect(raw).toMatchObject({ salt: 'f00d', update: true, reprocess: true });
  });
});

describe('input order, describeInput and inputRepos', () => {
  it('sorts sub-inputs by name, a nested combinator by its first sub-input', () => {
    const input = withInput({
      cross: [{ union: [pfs('z'), pfs('y')] }, pfs('m'), pfs('b', '/', { name: 'a' }), { cron: { name: 'c', spec: '@daily' } }],
    });
    expect(describeInput(input)).toBe('(b:/ ⨯ c:@daily ⨯ m:/* ⨯ (y:/* ∪ z:/*))');
    expect(inputRepos(input)).toEqual([
      { kind: 'pfs', name: 'a', repo: 'b', branch: 'master' },
      { kind: 'cron', name: 'c', repo: 'p_c', branch: 'master' },
      { kind: 'pfs', name: 'm', repo: 'm', branch: 'master' },
      { kind: 'pfs', name: 'y', repo: 'y', branch: 'master' },
      { kind: 'pfs', name: 'z', repo: 'z', branch: 'master' },
    ]);
  });

  it('sorts by byte order, as Go does', () => {
    const input = withInput({ union: [pfs('b'), pfs('B'), pfs('_x'), pfs('a1')] });
    expect(inputRepos(input).map((r) => r.name)).toEqual(['B', '_x', 'a1', 'b']);
  });

  it('describes every shape as pachctl does', () => {
    expect(describeInput(withInput(pfs('a', '/x(*)')))).toBe('a:/x(*)');
    expect(describeInput(withInput({ join: [pfs('a', '/x(*)', { join_on: '$1' }), pfs('b', '/*_(*)', { join_on: '$1' })] }))).toBe(
      '(a:/x(*) ⋈ b:/*_(*))',
    );
    expect(describeInput(withInput({ group: [pfs('a', '/(*)', { group_by: '$1' }), pfs('b', '/x/(*)', { group_by: '$1' })] }))).toBe(
      '(Group: a:/(*), b:/x/(*))',
    );
    expect(describeInput(withInput({ cron: { name: 'tick', spec: '@every 10s' } }))).toBe('tick:@every 10s');
    expect(describeInput(withInput({ union: [{ cross: [pfs('a'), pfs('b')] }, pfs('c', '/')] }))).toBe('((a:/* ⨯ b:/*) ∪ c:/)');
  });
});

describe('specHash', () => {
  const hash = (patch: Record<string, unknown>) => specHash(norm(spec(patch)).spec);

  it('is a stable hex SHA-256 of what decides the outputs', () => {
    const h = hash({});
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hash({})).toBe(h);
    // key order, spelling and sub-input order in the file do not matter
    const reordered = { input: { pfs: { glob: '/*', repo: 'images' } }, transform: { cmd: ['sh'] }, pipeline: { name: 'p' } };
    expect(specHash(norm(reordered).spec)).toBe(h);
    expect(hash({ input: { cross: [pfs('a'), pfs('b')] } })).toBe(hash({ input: { cross: [pfs('b'), pfs('a')] } }));
  });

  it('changes with the transform, input, output branch and reprocess spec', () => {
    const h = hash({});
    expect(hash({ transform: { cmd: ['bash'] } })).not.toBe(h);
    expect(hash({ transform: { cmd: ['sh'], env: { A: '1' } } })).not.toBe(h);
    expect(hash({ input: pfs('images', '/') })).not.toBe(h);
    expect(hash({ output_branch: 'other' })).not.toBe(h);
    expect(hash({ reprocess_spec: 'every_job' })).not.toBe(h);
  });

  it('ignores what only changes how a job runs', () => {
    const h = hash({});
    expect(hash({ description: 'x', datum_tries: 7, datum_timeout: '1s', parallelism_spec: { constant: 3 } })).toBe(h);
    expect(hash({ transform: { cmd: ['sh'], image: 'ubuntu' }, resource_limits: { cpu: 1 } })).toBe(h);
    expect(specHash({ ...norm(spec()).spec, base_dir: '/elsewhere' })).toBe(h);
  });
});

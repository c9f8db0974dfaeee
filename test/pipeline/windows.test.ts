// Windowed pfs inputs: the `window` field (parsing, errors naming the field), which windows a
// commit falls into, and the datums a window plan makes from a real store's history.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { datumHash, datumId, planDatums, resolveInputs } from '../../src/pipeline/datums.js';
import { describeInput, normalizeSpec } from '../../src/pipeline/spec.js';
import type { PfsInput, WindowSpec } from '../../src/pipeline/spec-types.js';
import { parseWindowLength, windowEnv, windowStarts } from '../../src/pipeline/windows.js';
import { streamOf, tempStores } from '../helpers.js';

const DAY = 86_400_000;

function withWindow(window: unknown, extra: Record<string, unknown> = {}) {
  return normalizeSpec({ pipeline: { name: 'p' }, transform: { cmd: ['sh'] }, input: { pfs: { repo: 'series', glob: '/*', window, ...extra } } }, { baseDir: '/base' });
}

function errorOf(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error('expected an error');
}

describe('the window field', () => {
  it('reads sliding and fixed windows by time and by count', () => {
    expect((withWindow({ size: '7d', every: '1d' }).spec.input as PfsInput).window).toEqual({ by: 'time', size: 7 * DAY, every: DAY });
    expect((withWindow({ size: '1d12h' }).spec.input as PfsInput).window).toEqual({ by: 'time', size: 1.5 * DAY, every: 1.5 * DAY });
    expect((withWindow({ size: '10 commits', every: '2 commits' }).spec.input as PfsInput).window).toEqual({ by: 'commits', size: 10, every: 2 });
    expect((withWindow({ size: '1 commit' }).spec.input as PfsInput).window).toEqual({ by: 'commits', size: 1, every: 1 });
    expect(describeInput(withWindow({ size: '7d', every: '1d' }).spec.input)).toBe('series:/* (window 1w every 1d)');
    expect(describeInput(withWindow({ size: '10 commits' }).spec.input)).toBe('series:/* (window 10 commits)');
  });

  it('names the field of every mistake', () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'input.pfs.window', /must specify a size/],
      [{ size: 7 }, 'input.pfs.window.size', /expected string/],
      [{ size: '7 days' }, 'input.pfs.window.size', /invalid window length/],
      [{ size: '0 commits' }, 'input.pfs.window.size', /at least 1 commit/],
      [{ size: '0d' }, 'input.pfs.window.size', /must be positive/],
      [{ size: '7d', every: '1 commit' }, 'input.pfs.window.every', /every is a count of commits but size is a duration/],
      [{ size: '1d', every: '2d' }, 'input.pfs.window.every', /must not be longer than size/],
      [{ size: '365d', every: '1h' }, 'input.pfs.window.every', /8760 windows/],
      [{ size: '7d', evry: '1d' }, 'input.pfs.window.evry', /every/],
    ];
    for (const [w, at, message] of cases) {
      const err = errorOf(() => withWindow(w));
      expect(`${err.message} ${err.hint ?? ''}`, JSON.stringify(w)).toMatch(message);
      expect(err.message, JSON.stringify(w)).toContain(at);
    }
  });

  it('refuses a window inside a join or group, and a second windowed input', () => {
    const base = { pipeline: { name: 'p' }, transform: { cmd: ['sh'] } };
    const joined = errorOf(() =>
      normalizeSpec({ ...base, input: { join: [{ pfs: { repo: 'a', glob: '/(*)', join_on: '$1', window: { size: '1d' } } }, { pfs: { repo: 'b', glob: '/(*)', join_on: '$1' } }] } }, { baseDir: '/' }),
    );
    expect(joined.message).toContain('input.join[0].pfs.window');
    const twice = errorOf(() =>
      normalizeSpec({ ...base, input: { cross: [{ pfs: { repo: 'a', glob: '/', window: { size: '1d' } } }, { pfs: { repo: 'b', glob: '/', window: { size: '2 commits' } } }] } }, { baseDir: '/' }),
    );
    expect(twice.message).toContain('input.cross[1].pfs.window');
    expect(twice.message).toContain('only one input');
  });
});

describe('which windows hold a commit', () => {
  const w = (size: number, every: number, by: WindowSpec['by'] = 'commits'): WindowSpec => ({ by, size, every });

  it('fixed windows: exactly one', () => {
    expect(windowStarts(w(10, 10), 0)).toEqual([0]);
    expect(windowStarts(w(10, 10), 9)).toEqual([0]);
    expect(windowStarts(w(10, 10), 10)).toEqual([10]);
    expect(windowStarts(w(DAY, DAY, 'time'), Date.UTC(2026, 11, 3, 17))).toEqual([Date.UTC(2026, 11, 3)]);
  });

  it('sliding windows: size / every of them, none before the first commit', () => {
    expect(windowStarts(w(3, 1), 5)).toEqual([3, 4, 5]);
    expect(windowStarts(w(3, 1), 1)).toEqual([0, 1]);
    expect(windowStarts(w(4, 2), 5)).toEqual([2, 4]);
    expect(windowStarts(w(7 * DAY, DAY, 'time'), Date.UTC(2026, 11, 10, 6))).toHaveLength(7);
    expect(windowStarts(w(7 * DAY, DAY, 'time'), Date.UTC(2026, 11, 10, 6))[0]).toBe(Date.UTC(2026, 11, 4));
  });
});

describe('window datums from a store', () => {
  const newStore = tempStores();

  it('a window holds the files each of its commits added or changed, by commit; its id is its bounds', async () => {
    const store = newStore();
    await store.createRepo('series');
    const put = async (files: Record<string, string>) => {
      const r = await store.putFiles(
        { repo: 'series', branch: 'master' },
        Object.entries(files).map(([repoPath, text]) => ({ kind: 'stream' as const, stream: streamOf(text), repoPath })),
      );
      return r.commit;
    };
    const c0 = await put({ '/a.csv': 'a0', '/notes.txt': 'n' });
    const c1 = await put({ '/a.csv': 'a1' });
    const c2 = await put({ '/b.csv': 'b' });
    const input: PfsInput = { kind: 'pfs', name: 'series', repo: 'series', branch: 'master', glob: '/*.csv', window: { by: 'commits', size: 2, every: 1 } };
    const core = store.core;
    const resolve = async () => core.graph.getCommit('series', (await core.graph.getBranch('series', 'master'))!.head);
    const datums = await planDatums(store.handle, input, await resolveInputs(input, core.graph, resolve));
    // notes.txt is not selected by the glob; a.csv is in two commits, one version each
    expect(datums.map((d) => d.files.map((f) => [f.commit, f.path]))).toEqual([
      [
        [c0, '/a.csv'],
        [c1, '/a.csv'],
      ],
      [
        [c1, '/a.csv'],
        [c2, '/b.csv'],
      ],
      [[c2, '/b.csv']],
    ]);
    expect(datums.map((d) => d.files[0]!.window)).toEqual([
      { by: 'commits', start: 0, end: 2 },
      { by: 'commits', start: 1, end: 3 },
      { by: 'commits', start: 2, end: 4 },
    ]);
    // the id follows the bounds, the hash the contents
    const [, second] = datums;
    const moved = second!.files.map((f) => ({ ...f, commit: c2 }));
    expect(datumId(moved)).toBe(second!.id);
    expect(datumHash(second!.id, moved, 's')).not.toBe(datumHash(second!.id, second!.files, 's'));
    expect(windowEnv(second!.files)).toEqual({ TUSK_WINDOW_START: '1', TUSK_WINDOW_END: '3', TUSK_WINDOW_COMMITS: `${c1} ${c2}` });
  });
});

// The cells and blocks of the job, pipeline and datum views: pachctl's wording and layouts.
import { describe, expect, it } from 'vitest';
import type { JobInfo } from '../../src/pipeline/pipeline-service.js';
import { goDuration, inputJson, jobProgress, jobStateCell, jobTable } from '../../src/ui/pipeline-views.js';

const ID = 'b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a';

function job(over: Partial<JobInfo> = {}): JobInfo {
  return {
    pipeline: 'edges',
    id: ID,
    version: 1,
    state: 'JOB_SUCCESS',
    reason: null,
    created: '2024-01-01T00:00:00.000Z',
    started: '2024-01-01T00:00:00.000Z',
    finished: '2024-01-01T00:00:03.500Z',
    processed: 2,
    skipped: 1,
    failed: 0,
    recovered: 0,
    total: 3,
    downloadBytes: 4506,
    uploadBytes: 0,
    outputCommit: ID,
    inputs: [],
    ...over,
  };
}

describe('job cells', () => {
  it('PROGRESS is processed + skipped / total, with recovered only when there are some', () => {
    expect(jobProgress(job())).toBe('2 + 1 / 3');
    expect(jobProgress(job({ processed: 1, skipped: 0, recovered: 2 }))).toBe('1 + 0 + 2 / 3');
  });

  it('STATE words, failure reasons cut to 25 characters, and the no-datums case', () => {
    expect(jobStateCell(job())).toBe('success');
    expect(jobStateCell(job({ processed: 0, skipped: 3 }))).toBe('success: there were no datums to process');
    expect(jobStateCell(job({ processed: 0, skipped: 0, total: 0 }))).toBe('success: there were no datums to process');
    const reason = `datum ${'f'.repeat(64)} failed`;
    expect(jobStateCell(job({ state: 'JOB_FAILURE', reason }))).toBe(`failure: ${reason.slice(0, 25)}...`);
    expect(jobStateCell(job({ state: 'JOB_FAILURE', reason: 'short' }))).toBe('failure: short');
    expect(jobStateCell(job({ state: 'JOB_KILLED', reason: 'job stopped' }))).toBe('killed: job stopped');
    expect(jobStateCell(job({ state: 'JOB_RUNNING', finished: null }))).toBe('running');
  });

  it('lays the table out with pachctl columns; a running job has no duration', () => {
    const now = Date.parse('2024-01-01T00:01:00.000Z');
    const time = (t: unknown) => (t ? `${Math.round((now - Date.parse(String(t))) / 1000)}s ago` : '-');
    expect(jobTable([job(), job({ state: 'JOB_RUNNING', finished: null })], time)).toBe(
      'PIPELINE ID                               STARTED DURATION  RESTART PROGRESS  DL     UL STATE\n' +
        `edges    ${ID} 60s ago 3 seconds 0       2 + 1 / 3 4.4KiB 0B success\n` +
        `edges    ${ID} 60s ago -         0       2 + 1 / 3 4.4KiB 0B running\n`,
    );
  });
});

describe('durations and inputs', () => {
  it('prints durations as Go does', () => {
    expect([500, 1000, 30_000, 90_000, 3_600_000, 5_400_500].map(goDuration)).toEqual(['500ms', '1s', '30s', '1m30s', '1h0m0s', '1h30m0.5s']);
  });

  it('fills in the commit each pfs input read', () => {
    const input = {
      kind: 'cross' as const,
      inputs: [
        { kind: 'pfs' as const, name: 'a', repo: 'a', branch: 'master', glob: '/*' },
        { kind: 'pfs' as const, name: 'b', repo: 'b', branch: 'dev', glob: '/', outer_join: false },
      ],
    };
    expect(inputJson(input, [{ repo: 'a', branch: 'master', commit: ID }])).toEqual({
      cross: [{ pfs: { name: 'a', repo: 'a', branch: 'master', commit: ID, glob: '/*' } }, { pfs: { name: 'b', repo: 'b', branch: 'dev', glob: '/' } }],
    });
  });
});

// The console's HTTP API, served in-process from a read-only store over a fixture built with the
// store and pipeline services: pagination, previews, diffs, provenance, the DAG, live events,
// path traversal attempts, missing objects and the access token.
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitDetail, CommitPage, Dag, DatumPage, DiffResult, DirPage, LogPage, MetricsSeries, Preview, RepoDetail, TextDiff } from '../../src/console/api-types.js';
import { startConsole, type RunningConsole } from '../../src/console/server.js';
import type { JobInfo } from '../../src/pipeline/pipeline-service.js';
import { runForeground } from '../../src/pipeline/runner.js';
import { openTusk, type Tusk } from '../../src/app/tusk.js';
import type { RepoInfo } from '../../src/store/types.js';
import { seededBytes, streamOf, tempStore } from '../helpers.js';
import { readEvents } from '../helpers/sse.js';
import { buildFixture, IRIS_ROWS, README_V2, type Fixture } from './console-helpers.js';

let env: ReturnType<typeof tempStore>;
let reader: Tusk;
let fx: Fixture;
let srv: RunningConsole;

beforeAll(async () => {
  env = tempStore();
  fx = await buildFixture(env.store, env.dir);
  await env.store.putFiles({ repo: 'many', branch: 'master' }, [{ kind: 'stream', stream: streamOf(seededBytes(5 * 1024 * 1024, 7)), repoPath: '/large.bin' }]);
  await env.store.putFiles({ repo: 'many', branch: 'master' }, [{ kind: 'stream', stream: streamOf(Buffer.from('miaou')), repoPath: '/写真/chat é.txt' }]);
  // the console opens the store read-only, as `tusk console` does, beside the writer
  reader = await openTusk({ path: path.join(env.dir, '.tusk'), readonly: true });
  srv = await startConsole({ data: reader.data, pipelines: reader.pipelines, port: 0, pollMs: 50 });
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await reader?.close();
  env?.cleanup();
});

async function get<T = any>(p: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${srv.port}${p}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

async function ok<T>(p: string): Promise<T> {
  const r = await get<T>(p);
  expect(r.status, `${p} → ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
  return r.body;
}

/** A raw request, for what fetch will not send (a forged Host header, odd paths). */
function rawRequest(port: number, p: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}


describe('repos and commits', () => {
  it('lists repos with sizes and branches', async () => {
    const repos = await ok<RepoInfo[]>('/api/repos?all=1');
    expect(repos.map((r) => r.name).sort()).toEqual(['images', 'many', 'raw', 'stats', 'upper']);
    const images = repos.find((r) => r.name === 'images')!;
    expect(images.branches.sort()).toEqual(['dev', 'master']);
    expect(images.sizeBytes).toBeGreaterThan(0);
    const detail = await ok<RepoDetail>('/api/repos/upper');
    expect(detail.pipeline).toBe('upper');
    expect(detail.branches[0]!.provenance).toEqual(['raw@master']);
  });

  it('pages through a branch history with a cursor', async () => {
    const p1 = await ok<CommitPage>('/api/repos/images/commits?branch=master&limit=2');
    expect(p1.commits.map((c) => c.id)).toEqual([fx.third, fx.second]);
    expect(p1.next).toBe(fx.second);
    const p2 = await ok<CommitPage>(`/api/repos/images/commits?branch=master&limit=2&cursor=${p1.next}`);
    expect(p2.commits.map((c) => c.id)).toEqual([fx.first]);
    expect(p2.next).toBeNull();
    expect(p2.commits[0]!.description).toBe('first import');
    // a whole repo pages by offset
    const all1 = await ok<CommitPage>('/api/repos/images/commits?limit=2');
    const all2 = await ok<CommitPage>(`/api/repos/images/commits?limit=2&cursor=${all1.next}`);
    expect([...all1.commits, ...all2.commits].map((c) => c.id)).toEqual([fx.dev, fx.third, fx.second, fx.first]);
    expect(all2.next).toBeNull();
    const dev = await ok<CommitPage>('/api/repos/images/commits?branch=dev');
    expect(dev.commits.map((c) => c.id)).toEqual([fx.dev, fx.first]);
    expect(dev.commits[1]!.children.sort()).toEqual([fx.dev, fx.second].sort());
  });

  it('shows a commit with its set, upstream and downstream', async () => {
    const raw = await ok<CommitDetail>(`/api/repos/raw/commits/${fx.rawHead}`);
    expect(raw.commit.origin).toBe('USER');
    expect(raw.heads).toEqual(['master']);
    expect(raw.set.map((c) => c.repo).sort()).toEqual(['raw', 'stats', 'upper']);
    expect(raw.downstream.map((c) => `${c.repo}@${c.id}`)).toEqual([`upper@${fx.rawHead}`]);
    const up = await ok<CommitDetail>(`/api/repos/upper/commits/${fx.rawHead}`);
    expect(up.commit.origin).toBe('AUTO');
    expect(up.upstream).toEqual([{ repo: 'raw', branch: 'master', commit: fx.rawHead }]);
    expect(up.downstream.map((c) => c.repo)).toEqual(['stats']);
    // refs work as in the CLI: branch, ancestry
    expect((await ok<CommitDetail>('/api/repos/images/commits/master%5E%5E')).commit.id).toBe(fx.first);
  });
});

describe('files', () => {
  it('pages a directory by name, with the total', async () => {
    const names: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: DirPage = await ok<DirPage>(`/api/repos/many/files?path=/wide&limit=500${after ? `&after=${after}` : ''}`);
      if (page.kind !== 'dir') throw new Error('expected a directory');
      expect(page.total).toBe(fx.bigDirFiles);
      names.push(...page.entries.map((e) => e.path));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(pages).toBe(3);
    expect(names).toHaveLength(fx.bigDirFiles);
    expect(names[0]).toBe('/wide/f000000.txt');
    expect(names[fx.bigDirFiles - 1]).toBe(`/wide/f${String(fx.bigDirFiles - 1).padStart(6, '0')}.txt`);
    expect(new Set(names).size).toBe(fx.bigDirFiles);
    const from = await ok<DirPage>('/api/repos/many/files?path=/wide&from=f001000.txt&limit=3');
    expect(from.kind === 'dir' && from.entries.map((e) => e.path)).toEqual(['/wide/f001000.txt', '/wide/f001001.txt', '/wide/f001002.txt']);
  });

  it('lists the root at any commit, and answers a file path with the file', async () => {
    const now = await ok<DirPage>('/api/repos/images/files?ref=master');
    expect(now.kind === 'dir' && now.entries.map((e) => e.path)).toEqual(['/README.md', '/config.json', '/data', '/img']);
    const then = await ok<DirPage>(`/api/repos/images/files?ref=${fx.first}&path=/`);
    expect(then.kind === 'dir' && then.entries.map((e) => e.path)).toContain('/blob.bin');
    const file = await ok<DirPage>('/api/repos/images/files?path=/README.md');
    expect(file.kind).toBe('file');
  });

  it('previews text, CSV (first rows only), JSON, images and binaries', async () => {
    const text = await ok<Preview>('/api/repos/images/preview?path=/README.md');
    expect([text.kind, text.text, text.truncated]).toEqual(['text', README_V2, false]);
    const csv = await ok<Preview>('/api/repos/images/preview?path=/data/iris.csv');
    expect(csv.kind).toBe('csv');
    expect(csv.rows).toHaveLength(100);
    expect(csv.rows![0]).toEqual(['sepal_length', 'sepal_width', 'species']);
    expect(csv.rows![2]).toEqual(['4.1', '2.1', 'versi, color']);
    expect(csv.truncated).toBe(true);
    expect(IRIS_ROWS).toBeGreaterThan(100);
    const json = await ok<Preview>('/api/repos/images/preview?path=/config.json');
    expect(json.kind).toBe('json');
    expect(JSON.parse(json.text!).nested.lr).toBe(0.01);
    expect((await ok<Preview>('/api/repos/images/preview?path=/img/gradient.png')).kind).toBe('image');
    expect((await ok<Preview>(`/api/repos/images/preview?ref=${fx.first}&path=/blob.bin`)).kind).toBe('binary');
  });

  it('previews the head of a large file without reading all of it', async () => {
    const p = await ok<Preview>('/api/repos/many/preview?path=/large.bin');
    expect(p.kind).toBe('binary');
    expect(p.bytesRead).toBeLessThan(2 * 1024 * 1024);
  });

  it('streams raw files with their type, and as attachments on request', async () => {
    const r = await fetch(`http://127.0.0.1:${srv.port}/api/repos/many/raw?path=/large.bin&download=1`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="large.bin"');
    expect(r.headers.get('content-security-policy')).toMatch(/^sandbox/);
    expect(Buffer.from(await r.arrayBuffer()).equals(seededBytes(5 * 1024 * 1024, 7))).toBe(true);
    const head = await rawRequest(srv.port, '/api/repos/many/raw?path=/large.bin', { host: `127.0.0.1:${srv.port}` }, 'HEAD');
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, String(5 * 1024 * 1024), '']);
    const png = await fetch(`http://127.0.0.1:${srv.port}/api/repos/images/raw?path=/img/gradient.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('content-disposition')).toMatch(/^inline/);
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('lists and downloads files with Unicode names, found in either normal form', async () => {
    const dir = (await (await fetch(`http://127.0.0.1:${srv.port}/api/repos/many/files?path=${encodeURIComponent('/写真')}`)).json()) as DirPage & { kind: 'dir' };
    expect(dir.entries.map((e) => e.path)).toEqual(['/写真/chat é.txt']);
    const r = await fetch(`http://127.0.0.1:${srv.port}/api/repos/many/raw?path=${encodeURIComponent('/写真/chat e\u0301.txt')}&download=1`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="chat _.txt"; filename*=UTF-8''chat%20%C3%A9.txt`);
    expect(await r.text()).toBe('miaou');
  });

  it('survives a client that goes away mid-download', async () => {
    const ac = new AbortController();
    const r = await fetch(`http://127.0.0.1:${srv.port}/api/repos/many/raw?path=/large.bin`, { signal: ac.signal });
    const reader = r.body!.getReader();
    await reader.read();
    ac.abort();
    await new Promise((res) => setTimeout(res, 100));
    expect((await get('/api/info')).status).toBe(200);
  });

  it('diffs two commits, and two versions of a file line by line', async () => {
    const d = await ok<DiffResult>(`/api/repos/images/diff?new=${fx.second}&old=${fx.first}`);
    expect(d.changes.map((c) => [c.status, c.path])).toEqual([
      ['modified', '/README.md'],
      ['added', '/data/extra.csv'],
    ]);
    const parent = await ok<DiffResult>(`/api/repos/images/diff?new=${fx.third}`);
    expect(parent.oldCommit!.id).toBe(fx.second);
    expect(parent.changes.map((c) => [c.status, c.path])).toEqual([['removed', '/blob.bin']]);
    const td = await ok<TextDiff>(`/api/repos/images/textdiff?new=${fx.second}&old=${fx.first}&path=/README.md`);
    expect(td.status).toBe('ok');
    expect([td.added, td.removed]).toEqual([3, 2]);
    const lines = td.hunks.flatMap((h) => h.lines.map((l) => `${l.op}${l.text}`));
    expect(lines).toContain('-Pictures of cats and dogs.');
    expect(lines).toContain('+Now with owls.');
    expect(lines).toContain(' Labelled by hand.');
    const bin = await ok<TextDiff>(`/api/repos/images/textdiff?new=${fx.third}&path=/blob.bin`);
    expect(bin.status).toBe('binary');
  });
});

describe('pipelines', () => {
  it('draws the DAG in columns', async () => {
    const dag = await ok<Dag>('/api/dag');
    const layer = Object.fromEntries(dag.nodes.map((n) => [n.id, [n.kind, n.layer]]));
    expect(layer).toMatchObject({ raw: ['repo', 0], upper: ['pipeline', 1], stats: ['pipeline', 2], images: ['repo', 0] });
    expect(dag.edges).toEqual([
      { from: 'raw', to: 'upper', label: 'master:/*' },
      { from: 'upper', to: 'stats', label: 'master:/' },
    ]);
    expect(dag.nodes.find((n) => n.id === 'upper')!.state).toBe('success');
  });

  it('shows jobs with datum progress, datums and logs', async () => {
    const jobs = await ok<JobInfo[]>('/api/pipelines/upper/jobs');
    expect(jobs).toHaveLength(3);
    const newest = jobs[0]!;
    expect([newest.id, newest.state, newest.total, newest.processed, newest.skipped]).toEqual([fx.rawHead, 'JOB_SUCCESS', 5, 2, 3]);
    const datums = await ok<DatumPage>(`/api/pipelines/upper/jobs/${newest.id}/datums?limit=2`);
    expect([datums.total, datums.datums.length, datums.counts]).toEqual([5, 2, { success: 2, skipped: 3 }]);
    const success = (await ok<DatumPage>(`/api/pipelines/upper/jobs/${newest.id}/datums?state=success`)).datums;
    expect(success.map((d) => d.files[0]!.path).sort()).toEqual(['/d.txt', '/e.txt']);
    const d = await ok<{ id: string; state: string }>(`/api/pipelines/upper/jobs/${newest.id}/datums/${success[0]!.id.slice(0, 10)}`);
    expect(d.id).toBe(success[0]!.id);
    const logs = await ok<LogPage>(`/api/pipelines/upper/jobs/${newest.id}/logs?user=1`);
    expect(logs.lines.map((l) => l.message).sort()).toEqual(['upper-casing d.txt', 'upper-casing e.txt']);
    expect(Object.values(logs.perDatum).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('reads model metrics across versions', async () => {
    const m = await ok<MetricsSeries>('/api/repos/stats/metrics');
    expect(m.keys).toEqual(['bytes', 'eval.score', 'files']);
    expect(m.points.map((p) => p.metrics.files)).toEqual([2, 3, 5]);
    expect(m.points.map((p) => p.metrics['eval.score'])).toEqual([2.5, 3.5, 5.5]);
    expect((await ok<MetricsSeries>('/api/repos/images/metrics')).points).toEqual([]);
  });

  it('streams job changes while jobs are created and run', async () => {
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${srv.port}/api/events?pipeline=upper`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: { type: string; jobs?: JobInfo[] }[] = [];
    const reading = readEvents(res, (_, data) => events.push(data as (typeof events)[number]));
    const until = async (pred: () => boolean) => {
      for (let t = 0; t < 200 && !pred(); t++) await new Promise((r) => setTimeout(r, 25));
      expect(pred()).toBe(true);
    };
    await until(() => events.length >= 1);
    expect(events[0]!.jobs).toHaveLength(3);
    const { commit } = await env.store.putFiles({ repo: 'raw', branch: 'master' }, [{ kind: 'stream', stream: streamOf('foxtrot\n'), repoPath: '/f.txt' }]);
    await until(() => events.some((e) => e.jobs?.[0]?.id === commit && e.jobs[0].state === 'JOB_CREATED'));
    await runForeground(env.store.handle);
    await until(() => events.some((e) => e.jobs?.[0]?.id === commit && e.jobs[0].state === 'JOB_SUCCESS'));
    ac.abort();
    await reading;
  });

  it("streams a job's log lines, each once", async () => {
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${srv.port}/api/events?pipeline=upper&job=${fx.rawHead}`, { signal: ac.signal });
    const lines: { message: string; stream: string }[] = [];
    const reading = readEvents(res, (event, data) => {
      if (event === 'logs') lines.push(...(data as { lines: { message: string; stream: string }[] }).lines);
    });
    const user = () => lines.filter((l) => l.stream !== 'system').map((l) => l.message);
    for (let t = 0; t < 200 && user().length < 2; t++) await new Promise((r) => setTimeout(r, 25));
    // many more polls (50 ms apart): none may send a line again
    await new Promise((r) => setTimeout(r, 1500));
    ac.abort();
    await reading;
    expect(user().sort()).toEqual(['upper-casing d.txt', 'upper-casing e.txt']);
    expect(lines.filter((l) => l.stream === 'system').length).toBeGreaterThan(0);
  });
});

describe('errors and safety', () => {
  it('answers missing objects with 404 and a message', async () => {
    const cases: [string, RegExp][] = [
      ['/api/repos/nope', /repo nope not found/],
      ['/api/repos/images/files?path=/missing.txt', /file \/missing.txt not found in repo images/],
      ['/api/repos/images/commits/0123456789ab4def0123456789abcdef', /commit .*0123456789ab4def0123456789abcdef not found/],
      ['/api/repos/images/files?ref=nobranch', /branch "nobranch" not found in repo images/],
      ['/api/pipelines/nope', /pipeline "nope" not found/],
      ['/api/pipelines/upper/jobs/0123456789ab4def0123456789abcdef', /job upper@0123456789ab4def0123456789abcdef not found/],
      ['/api/nothing/here', /no API route/],
    ];
    for (const [p, message] of cases) {
      const r = await get<{ error: { code: string; message: string; hint: string | null } }>(p);
      expect([p, r.status, r.body.error.code]).toEqual([p, 404, 'E_NOT_FOUND']);
      expect(r.body.error.message).toMatch(message);
      // the one error shape of tusk's servers and of the CLI's --json
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'hint', 'message']);
    }
  });

  it('refuses traversal in paths, refs, names and ids', async () => {
    const cases = [
      '/api/repos/images/files?path=/../../../etc/passwd',
      '/api/repos/images/files?path=/data/../README.md',
      '/api/repos/images/raw?path=/./README.md',
      '/api/repos/images/raw?path=..%2F..%2Fetc%2Fpasswd',
      '/api/repos/images/files?ref=master:/etc&path=/',
      '/api/repos/images/files?path=/*',
      '/api/repos/..%2F..%2Fetc/files',
      '/api/repos/images/preview?ref=..&path=/README.md',
      '/api/pipelines/upper/jobs/..%2F..%2F..%2Fmeta.db/logs',
      '/api/pipelines/..%2Fupper/jobs',
      '/api/repos/images/files?path=/README.md&limit=abc',
    ];
    for (const p of cases) {
      const r = await get<{ error: { code: string } }>(p);
      expect([p, r.status, r.body.error?.code]).toEqual([p, 400, 'E_INVALID']);
    }
    // static files come from a fixed table: nothing outside it is reachable
    for (const p of ['/../package.json', '/%2e%2e/%2e%2e/package.json', '/app.js/../../package.json', '/dist/web/app.js']) {
      const r = await rawRequest(srv.port, p, { host: `127.0.0.1:${srv.port}` });
      expect([p, r.status]).toEqual([p, 404]);
    }
  });

  it('has no write actions', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await rawRequest(srv.port, '/api/repos', { host: `127.0.0.1:${srv.port}` }, method);
      expect(r.status).toBe(405);
      expect(JSON.parse(r.body).error).toEqual({ code: 'E_METHOD', message: `${method} is not allowed: the console is read-only`, hint: 'change the store with the tusk CLI' });
    }
  });

  it('on loopback, only answers requests addressed to loopback (no DNS rebinding)', async () => {
    expect((await rawRequest(srv.port, '/api/info', { host: `localhost:${srv.port}` })).status).toBe(200);
    const evil = await rawRequest(srv.port, '/api/info', { host: `evil.example:${srv.port}` });
    expect(evil.status).toBe(403);
  });

  it('requires the token when one is set, from a header, the URL or the cookie', async () => {
    const token = 'tok-0123456789abcdef';
    const guarded = await startConsole({ data: reader.data, pipelines: reader.pipelines, host: '0.0.0.0', port: 0, token });
    try {
      const base = `http://127.0.0.1:${guarded.port}`;
      expect(guarded.url).toBe(`http://0.0.0.0:${guarded.port}/?token=${token}`);
      const none = await fetch(`${base}/api/repos`);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('E_UNAUTHORIZED');
      expect((await fetch(`${base}/`)).status).toBe(401);
      expect((await fetch(`${base}/api/repos`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      expect((await fetch(`${base}/api/repos`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(`${base}/api/repos?token=${token}`)).status).toBe(200);
      const page = await fetch(`${base}/?token=${token}`, { redirect: 'manual' });
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/');
      const cookie = page.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      const withCookie = await fetch(`${base}/api/repos`, { headers: { cookie: cookie.split(';')[0]! } });
      expect(withCookie.status).toBe(200);
    } finally {
      await guarded.close();
    }
    await expect(startConsole({ data: reader.data, pipelines: reader.pipelines, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'E_INVALID' });
    await expect(startConsole({ data: reader.data, pipelines: reader.pipelines, port: 0, token: 'short' })).rejects.toMatchObject({ code: 'E_INVALID' });
  });
});

// The console's read-only API: one handler per route, each a parse of the URL plus calls into the
// store's reads or the pipeline service (src/console/services.ts). No handler writes, and none touches SQL or the disk.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { HttpError } from '../http-errors.js';
import type { LogLine } from '../pipeline/logs.js';
import { isCommitId, validateName } from '../store/address.js';
import type { ConsoleInfo, DatumPage, LogPage, RepoDetail, TextDiff } from './api-types.js';
import { commitDetail, commitRefOf, diffCommits, fileRefOf, listCommitPage, listDirectoryPage } from './browse.js';
import { contentTypeOf, previewFile, readHead, streamToResponse } from './content.js';
import { buildDag } from './dag.js';
import { streamEvents } from './events.js';
import { BASE_HEADERS, Query } from './http.js';
import { readMetrics } from './metrics.js';
import { readDrift } from './drift.js';
import type { ConsoleData, ConsolePipelines } from './services.js';
import { diffOps, splitLines, toHunks } from './text-diff.js';

export interface RouteContext {
  store: ConsoleData;
  pipelines: ConsolePipelines;
  params: Record<string, string>;
  query: Query;
  req: IncomingMessage;
  res: ServerResponse;
  pollMs: number;
  version: string;
}

/** A handler returns the JSON body, or undefined when it wrote the response itself (streams). */
type Handler = (ctx: RouteContext) => unknown;

interface Route {
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

const PAGE = { default: 200, min: 1, max: 1000 };
const TEXT_DIFF_BYTES = 1024 * 1024;
const MAX_LOG_LINES = 5000;

function route(path: string, handler: Handler): Route {
  const names: string[] = [];
  const pattern = new RegExp(
    '^' +
      path.replace(/:(\w+)/g, (_m, name: string) => {
        names.push(name);
        return '([^/]+)';
      }) +
      '$',
  );
  return { pattern, names, handler };
}

// Job and commit set ids are commit ids; checked before they name anything on disk (log directories).
function jobId(id: string): string {
  if (!isCommitId(id)) throw new InvalidArgumentError(`${JSON.stringify(id.slice(0, 80))} is not a job or commit set id`, 'an id is 32 lowercase hex characters');
  return id;
}

function pipelineName(name: string): string {
  return validateName('pipeline', name);
}

// A filename for Content-Disposition: ASCII only, no quotes or separators that could end the header.
/**
 * `filename="…"` for old clients (ASCII only: header values cannot carry more) and RFC 6266's
 * `filename*=UTF-8''…` with the real name, which browsers prefer, for names beyond ASCII.
 */
function downloadName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const ascii = base.replace(/[^\w.\- ]/g, '_') || 'download';
  if (ascii === base) return `filename="${ascii}"`;
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

const routes: Route[] = [
  route('/api/info', ({ store, version }): ConsoleInfo => ({ store: store.path, version, readonly: true })),

  route('/api/repos', ({ store, query }) => store.listRepos({ all: query.bool('all') })),

  route('/api/repos/:repo', async ({ store, pipelines, params }): Promise<RepoDetail> => {
    const repo = await store.inspectRepo(params.repo!);
    const pipeline = repo.type === 'output' ? ((await pipelines.list()).find((p) => p.name === repo.name)?.name ?? null) : null;
    return { repo, branches: await store.listBranches(repo.name), pipeline };
  }),

  route('/api/repos/:repo/commits', ({ store, params, query }) =>
    listCommitPage(store, { repo: params.repo!, branch: query.str('branch'), cursor: query.str('cursor'), limit: query.int('limit', { ...PAGE, default: 50 }) }),
  ),

  route('/api/repos/:repo/commits/:ref', ({ store, params }) => commitDetail(store, commitRefOf(params.repo!, params.ref))),

  route('/api/repos/:repo/files', ({ store, params, query }) =>
    listDirectoryPage(store, fileRefOf(params.repo!, query.str('ref'), query.str('path')), {
      after: query.str('after'),
      from: query.str('from'),
      limit: query.int('limit', PAGE),
    }),
  ),

  route('/api/repos/:repo/preview', async ({ store, params, query }) => {
    const ref = fileRefOf(params.repo!, query.str('ref'), query.str('path'));
    const file = await store.inspectFile(ref);
    if (file.type !== 'file') throw new InvalidArgumentError(`${file.path} is a directory`, 'list it with /api/repos/REPO/files');
    return previewFile(store, ref, file);
  }),

  route('/api/repos/:repo/raw', async ({ store, params, query, req, res }) => {
    const ref = fileRefOf(params.repo!, query.str('ref'), query.str('path'));
    const file = await store.inspectFile(ref);
    if (file.type !== 'file') throw new InvalidArgumentError(`${file.path} is a directory`, 'download files one at a time, or use `tusk get file -r`');
    const type = contentTypeOf(file.path);
    const inline = !query.bool('download') && (type.startsWith('image/') || type.startsWith('text/') || type.startsWith('application/json'));
    res.writeHead(200, {
      ...BASE_HEADERS,
      'content-type': type,
      'content-length': file.sizeBytes,
      'content-disposition': `${inline ? 'inline' : 'attachment'}; ${downloadName(file.path)}`,
      // repo content is not ours: never let it run script in the console's origin
      'content-security-policy': "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
      'cache-control': 'no-store',
      etag: `"${file.hash}"`,
    });
    if (req.method === 'HEAD') res.end();
    else await streamToResponse(store, ref, res);
    return undefined;
  }),

  route('/api/repos/:repo/diff', ({ store, params, query }) => {
    const path = query.str('path');
    const newRef = fileRefOf(params.repo!, query.str('new'), path);
    const old = query.str('old');
    return diffCommits(store, newRef, old === undefined ? undefined : fileRefOf(params.repo!, old, path), { limit: query.int('limit', { ...PAGE, default: 1000, max: 10_000 }) });
  }),

  route('/api/repos/:repo/textdiff', async ({ store, params, query }): Promise<TextDiff> => {
    const path = query.str('path');
    if (path === undefined) throw new InvalidArgumentError('a path is required', 'add ?path=/file.txt');
    const newRef = fileRefOf(params.repo!, query.str('new'), path);
    const newCommit = await store.inspectCommit(newRef);
    const old = query.str('old');
    const oldRef = old !== undefined ? fileRefOf(params.repo!, old, path) : newCommit.parent ? { repo: newCommit.repo, commit: newCommit.parent, path: newRef.path } : undefined;
    const read = async (ref: typeof newRef | undefined): Promise<{ text: string; binary: boolean; tooLarge: boolean; missing?: unknown }> => {
      const none = { text: '', binary: false, tooLarge: false };
      if (!ref) return { ...none, missing: true };
      let size: number;
      try {
        const f = await store.inspectFile(ref);
        if (f.type !== 'file') throw new InvalidArgumentError(`${f.path} is a directory`, 'diff a file');
        size = f.sizeBytes;
      } catch (err) {
        // a file on one side only is diffed against nothing
        if (err instanceof NotFoundError && err.kind === 'file') return { ...none, missing: err };
        throw err;
      }
      if (size > TEXT_DIFF_BYTES) return { ...none, tooLarge: true };
      const { data } = await readHead(store, ref, TEXT_DIFF_BYTES);
      return { text: data.toString('utf8'), binary: data.includes(0), tooLarge: false };
    };
    const [a, b] = [await read(oldRef), await read(newRef)];
    if (a.missing && b.missing) throw b.missing;
    const base = { path: newRef.path!, hunks: [], added: 0, removed: 0 };
    if (a.binary || b.binary) return { ...base, status: 'binary' };
    if (a.tooLarge || b.tooLarge) return { ...base, status: 'too-large' };
    const [al, bl] = [splitLines(a.text), splitLines(b.text)];
    const ops = diffOps(al, bl);
    if (!ops) return { ...base, status: 'too-different' };
    return { ...base, status: 'ok', hunks: toHunks(al, bl, ops), added: ops.filter((o) => o === '+').length, removed: ops.filter((o) => o === '-').length };
  }),

  route('/api/repos/:repo/metrics', async ({ store, params, query }) =>
    readMetrics(store, { repo: (await store.inspectRepo(params.repo!)).name, branch: query.str('branch') ?? 'master', path: query.str('path'), limit: query.int('limit', { default: 200, min: 1, max: 2000 }) }),
  ),

  route('/api/repos/:repo/drift', async ({ store, params, query }) => readDrift(store, (await store.inspectRepo(params.repo!)).name, query.int('limit', { default: 200, min: 1, max: 2000 }))),

  route('/api/commitsets', ({ store, query }) => store.listCommitSets({ number: query.int('limit', { ...PAGE, default: 50 }) })),

  route('/api/commitsets/:id', ({ store, params }) => store.listCommits({ commitSet: jobId(params.id!), all: true })),

  route('/api/dag', ({ store, pipelines }) => buildDag(store, pipelines)),

  route('/api/pipelines', ({ pipelines }) => pipelines.list()),

  route('/api/pipelines/:pipeline', ({ pipelines, params }) => pipelines.inspect(pipelineName(params.pipeline!))),

  route('/api/pipelines/:pipeline/jobs', ({ pipelines, params, query }) =>
    pipelines.listJobs({ pipeline: pipelineName(params.pipeline!), number: query.int('limit', { ...PAGE, default: 100 }) }),
  ),

  route('/api/pipelines/:pipeline/jobs/:job', ({ pipelines, params }) => pipelines.inspectJob(pipelineName(params.pipeline!), jobId(params.job!))),

  route('/api/pipelines/:pipeline/jobs/:job/datums', async ({ pipelines, params, query }): Promise<DatumPage> => {
    const all = await pipelines.listDatums(pipelineName(params.pipeline!), jobId(params.job!));
    const counts: Record<string, number> = {};
    for (const d of all) counts[d.state] = (counts[d.state] ?? 0) + 1;
    const state = query.str('state');
    const shown = state ? all.filter((d) => d.state === state) : all;
    const offset = query.int('offset', { default: 0, min: 0 });
    return { total: shown.length, counts, datums: shown.slice(offset, offset + query.int('limit', PAGE)) };
  }),

  route('/api/pipelines/:pipeline/jobs/:job/datums/:datum', ({ pipelines, params }) =>
    pipelines.inspectDatum(pipelineName(params.pipeline!), jobId(params.job!), params.datum!),
  ),

  route('/api/pipelines/:pipeline/jobs/:job/logs', async ({ pipelines, params, query }): Promise<LogPage> => {
    const [pipeline, job] = [pipelineName(params.pipeline!), jobId(params.job!)];
    // checks the job exists before its log directory is named
    await pipelines.inspectJob(pipeline, job);
    // streamed: only the newest lines are kept, however long the log is
    let kept: LogLine[] = [];
    let total = 0;
    const perDatum: Record<string, number> = {};
    for await (const l of pipelines.streamLogs({ pipeline, job, datum: query.str('datum'), includeSystem: !query.bool('user') })) {
      perDatum[l.datum] = (perDatum[l.datum] ?? 0) + 1;
      total++;
      kept.push(l);
      if (kept.length >= 2 * MAX_LOG_LINES) kept = kept.slice(-MAX_LOG_LINES);
    }
    return { lines: kept.slice(-MAX_LOG_LINES), truncated: total > MAX_LOG_LINES, perDatum };
  }),

  route('/api/events', async ({ pipelines, query, req, res, pollMs }) => {
    const pipeline = query.str('pipeline');
    const job = query.str('job');
    if (job !== undefined && pipeline === undefined) throw new InvalidArgumentError('a job needs its pipeline', 'add ?pipeline=NAME');
    if (pipeline !== undefined) await pipelines.inspect(pipelineName(pipeline));
    if (job !== undefined) await pipelines.inspectJob(pipeline!, jobId(job));
    streamEvents(pipelines, { pipeline, job }, req, res, { pollMs });
    return undefined;
  }),
];

/** The handler for an API path, with its decoded parameters; a 404 HttpError when none matches. */
export function matchRoute(pathname: string): { handler: Handler; params: Record<string, string> } {
  for (const r of routes) {
    const m = r.pattern.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]!);
      } catch {
        throw new InvalidArgumentError(`malformed URL escape in ${JSON.stringify(m[i + 1])}`);
      }
    });
    return { handler: r.handler, params };
  }
  throw new HttpError(404, 'E_NOT_FOUND', `no API route ${pathname}`, 'see docs/console.md for the routes');
}

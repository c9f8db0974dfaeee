// `tusk serve model`: an HTTP endpoint for the model on a branch. POST /predict takes JSON
// instances and returns predictions; GET /health says what is loaded. Every response names the
// model version (the commit). The branch is polled: when it moves, the new model is loaded
// beside the old one and swapped in only once it loaded; a failed load keeps the old model.
// Bad requests get 400 and never take the server down.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, HttpError, type ErrorBody } from '../http-errors.js';
import { setLongInterval } from '../timers.js';
import type { RepoReads } from '../pipeline/repo-reads.js';
import { predictChain } from './chain.js';
import { loadModel, resolveModel, skippedNote, type LoadedModel, type ModelVersion } from './model-source.js';
import { predictionObjects, tableFromInstances } from './predictions.js';

export interface ServeOptions {
  repo: string;
  branch: string;
  host?: string;
  port?: number;
  /** how often the branch head is checked (ms) */
  pollMs?: number;
  /** largest request body accepted (bytes) */
  maxBody?: number;
  log?: (line: string) => void;
}

export interface ModelServer {
  url: string;
  /** the version served now (null before the first successful load) */
  version(): ModelVersion | null;
  /** check the branch now and reload if it moved (what the poller does) */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function serveModel(store: RepoReads, opts: ServeOptions): Promise<ModelServer> {
  const log = opts.log ?? (() => undefined);
  const maxBody = opts.maxBody ?? 16 * 1024 * 1024;
  let current: LoadedModel | null = null;
  // a replaced model is closed only once the requests using it have finished
  const users = new Map<LoadedModel, number>();
  const retired = new Set<LoadedModel>();
  const retire = (m: LoadedModel) => {
    if ((users.get(m) ?? 0) === 0) m.close();
    else retired.add(m);
  };
  const release = (m: LoadedModel) => {
    const n = (users.get(m) ?? 1) - 1;
    if (n > 0) users.set(m, n);
    else {
      users.delete(m);
      if (retired.delete(m)) m.close();
    }
  };
  // why the last load failed, in the shape of every error reply; null once a load succeeds
  let lastError: ErrorBody['error'] | null = null;
  let loading: Promise<void> | null = null;
  let loadedAt: string | null = null;
  let closed = false;
  // the last head looked at: a head passed over (failed job) is not resolved again on every poll
  let passedHead: string | null = null;

  const head = async (): Promise<string> => (await store.inspectBranch(opts.repo, opts.branch)).head;

  const refresh = (): Promise<void> => {
    loading ??= (async () => {
      try {
        const h = await head();
        if (current?.version.commit === h || h === passedHead) return;
        // a head that a failed job wrote is passed over for the newest good version before it
        const version = await resolveModel(store, { repo: opts.repo, branch: opts.branch });
        const note = skippedNote(version);
        if (note) log(note);
        if (current?.version.commit === version.commit) {
          passedHead = h;
          return;
        }
        const next = await loadModel(store, { repo: opts.repo, commit: version.commit });
        if (closed) {
          next.close();
          return;
        }
        const old = current;
        current = { ...next, version: { ...next.version, branch: opts.branch, ...(version.skipped ? { skipped: version.skipped } : {}) } };
        loadedAt = new Date().toISOString();
        lastError = null;
        passedHead = h;
        if (old) retire(old);
        log(`loaded model ${opts.repo}@${opts.branch}=${version.commit}`);
      } catch (err) {
        lastError = describeError(err).body.error;
        log(`cannot load model ${opts.repo}@${opts.branch}: ${lastError.message}${current ? ` (still serving ${current.version.commit})` : ''}`);
      } finally {
        loading = null;
      }
    })();
    return loading;
  };

  const versionJson = () => (current ? { repo: current.version.repo, branch: opts.branch, commit: current.version.commit, ...(current.version.skipped ? { skipped: current.version.skipped } : {}) } : null);

  const send = (res: http.ServerResponse, status: number, body: Record<string, unknown>) => {
    const text = JSON.stringify({ model: versionJson(), ...body });
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...(current ? { 'x-model-version': current.version.commit } : {}),
    });
    res.end(text);
  };

  const readBody = (req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const tooLarge = () => {
        // answer first, then close: the rest of the body is never read, and a socket cut before
        // the answer would leave the client with no reason
        res.setHeader('connection', 'close');
        res.once('finish', () => req.destroy());
        return new HttpError(413, 'E_TOO_LARGE', `request body over ${maxBody} bytes`, 'send fewer instances per request');
      };
      if (Number(req.headers['content-length']) > maxBody) {
        reject(tooLarge());
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          req.off('data', onData);
          req.pause();
          reject(tooLarge());
          return;
        }
        parts.push(c);
      };
      req.on('data', onData);
      req.on('end', () => resolve(Buffer.concat(parts)));
      req.on('error', reject);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'E_METHOD', `${req.method} /health is not allowed`, 'use GET /health');
      return send(res, current ? 200 : 503, { status: current ? 'ok' : 'unavailable', loaded: loadedAt, error: lastError });
    }
    if (url.pathname !== '/predict') throw new HttpError(404, 'E_NOT_FOUND', `no route ${req.method} ${url.pathname}`, 'use POST /predict or GET /health');
    if (req.method !== 'POST') throw new HttpError(405, 'E_METHOD', `${req.method} /predict is not allowed`, 'use POST /predict with a JSON body');
    const body = await readBody(req, res);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'E_INVALID', 'the body is not valid JSON', 'send {"instances": [...]} as JSON');
    }
    const instances = Array.isArray(parsed) ? parsed : parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).instances : undefined;
    if (!Array.isArray(instances)) throw new HttpError(400, 'E_INVALID', 'the body holds no list of instances', 'send {"instances": [{feature: value, ...}, ...]} or a JSON list of instances');
    const model = current;
    if (!model) throw new HttpError(503, 'E_UNAVAILABLE', `no model loaded${lastError ? `: ${lastError.message}` : ''}`, 'GET /health says why; the branch is checked again every poll');
    users.set(model, (users.get(model) ?? 0) + 1);
    let pred;
    try {
      pred = await predictChain(model.chain, tableFromInstances(instances, model.chain.json.features));
    } finally {
      release(model);
    }
    // the version that made these predictions, even if a reload swapped models meanwhile
    const text = JSON.stringify({ model: { repo: model.version.repo, branch: opts.branch, commit: model.version.commit }, predictions: predictionObjects(pred) });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-model-version': model.version.commit });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // data errors (wrong feature types, missing features, undecodable images) are the client's
      const { status, body } = describeError(err, () => 400);
      if (status === 500) log(`error: ${(err as Error).stack ?? String(err)}`);
      send(res, status, body);
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  // a missing repo or branch is the caller's mistake: fail now rather than serve 503 forever
  await head();
  await refresh();
  const timer = setLongInterval(() => void refresh(), opts.pollMs ?? 1000, { unref: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    version: () => current?.version ?? null,
    refresh,
    close: async () => {
      closed = true;
      timer.cancel();
      const closing = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closing;
      await loading;
      current?.close();
      current = null;
      for (const m of retired) m.close();
      retired.clear();
    },
  };
}

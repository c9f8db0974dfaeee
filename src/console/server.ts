// `tusk console`'s HTTP server: the built web UI at `/`, the read-only JSON API under `/api/`.
// Every request passes the access gate (loopback Host check, token when one is set); only GET and
// HEAD exist, so nothing a page or a script sends can change the store.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { HttpError } from '../http-errors.js';
import { BASE_HEADERS, Query, requestUrl, sendError, sendJson } from './http.js';
import { matchRoute } from './routes.js';
import { AccessGate, isLoopbackHost } from './security.js';
import type { ConsoleData, ConsolePipelines } from './services.js';
import { DEFAULT_WEB_ROOT, loadAssets, type Asset } from './static.js';

export const DEFAULT_PORT = 30800;
export const DEFAULT_HOST = '127.0.0.1';

export interface ConsoleOptions {
  /** the store's reads */
  data: ConsoleData;
  pipelines: ConsolePipelines;
  /** address to bind; anything but loopback needs `token` */
  host?: string;
  /** 0 picks a free port */
  port?: number;
  token?: string | null;
  /** directory of the built UI (default dist/web) */
  webRoot?: string;
  /** how often live streams poll for job changes */
  pollMs?: number;
  version?: string;
  /** called with each unexpected (500) error */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

export interface RunningConsole {
  /** the address to open; carries `?token=` when a token is set */
  url: string;
  host: string;
  port: number;
  token: string | null;
  server: Server;
  close(): Promise<void>;
}

// The UI is one script and one stylesheet from this origin; nothing inline, nothing remote.
const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Start serving; resolves once listening. */
export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const host = opts.host ?? DEFAULT_HOST;
  const token = opts.token ?? null;
  if (!isLoopbackHost(host) && token === null) {
    throw new InvalidArgumentError(`binding to ${host} would open the store to the network without an access token`, 'pass --token TOKEN (or set TUSK_CONSOLE_TOKEN)');
  }
  if (token !== null && !/^[\x21-\x7e]{16,256}$/.test(token)) {
    throw new InvalidArgumentError('the access token must be 16 to 256 printable characters without spaces', 'leave --token out to have one made for you');
  }
  const assets = loadAssets(opts.webRoot ?? DEFAULT_WEB_ROOT);
  const pollMs = opts.pollMs ?? 500;
  const version = opts.version ?? '';
  let gate: AccessGate;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = requestUrl(req);
      const queryToken = url.searchParams.get('token') ?? undefined;
      gate.check(req, queryToken);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new HttpError(405, 'E_METHOD', `${req.method} is not allowed: the console is read-only`, 'change the store with the tusk CLI');
      }
      if (url.pathname.startsWith('/api/')) {
        const { handler, params } = matchRoute(url.pathname);
        const body = await handler({ store: opts.data, pipelines: opts.pipelines, params, query: new Query(url.searchParams), req, res, pollMs, version });
        if (body !== undefined) sendJson(res, 200, body);
        return;
      }
      if (queryToken !== undefined && token !== null) {
        // keep the token in a cookie and take it out of the address bar (and the history)
        url.searchParams.delete('token');
        res.writeHead(303, { ...BASE_HEADERS, 'set-cookie': gate.cookieFor(queryToken), location: url.pathname + url.search });
        res.end();
        return;
      }
      const asset = assets.get(url.pathname);
      if (!asset) throw new HttpError(404, 'E_NOT_FOUND', `no page ${url.pathname}`, 'open / ; pages are addressed after the #');
      serveAsset(res, asset);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : undefined;
      if (status === undefined && !(err as { code?: string }).code?.startsWith('E_')) opts.onError?.(err, req);
      sendError(res, err);
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new ConflictError(`port ${opts.port ?? DEFAULT_PORT} on ${host} is already in use`, 'pick another with --port, or --port 0 for any free port'));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new InvalidArgumentError(`cannot bind to ${host}: no such address on this machine`, 'give an address of this machine with --host'));
      else if (err.code === 'EACCES') reject(new InvalidArgumentError(`not allowed to listen on port ${opts.port ?? DEFAULT_PORT}`, 'pick a port above 1023'));
      else reject(err);
    });
    server.listen(opts.port ?? DEFAULT_PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  gate = new AccessGate(token, port, host);
  const url = `http://${urlHost(host)}:${port}/${token !== null ? `?token=${encodeURIComponent(token)}` : ''}`;
  return {
    url,
    host,
    port,
    token,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // live streams never end on their own
        server.closeAllConnections();
      }),
  };
}

function serveAsset(res: ServerResponse, asset: Asset): void {
  res.writeHead(200, {
    ...BASE_HEADERS,
    'content-type': asset.type,
    'content-length': asset.body.length,
    'content-security-policy': PAGE_CSP,
    'cache-control': 'no-cache',
  });
  res.end(asset.body);
}

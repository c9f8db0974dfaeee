// Small HTTP pieces the console server and its handlers share: JSON replies, error replies in the
// shape of src/http-errors.ts, query parsing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import { describeError } from '../http-errors.js';

/** Headers every response carries: no sniffing, no framing, no referrer leaks of tokens. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
  });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = describeError(err);
  if (res.headersSent) {
    // a stream already started: the only honest signal left is a cut connection
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  sendJson(res, status, body);
}

/** Typed access to a request's query string; bad values are usage errors (400). */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  str(name: string): string | undefined {
    const v = this.params.get(name);
    return v === null || v === '' ? undefined : v;
  }

  int(name: string, opts: { default: number; min?: number; max?: number }): number {
    const v = this.str(name);
    if (v === undefined) return opts.default;
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`query parameter ${name} must be a whole number, not "${v.slice(0, 40)}"`);
    const n = Number(v);
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`query parameter ${name} must be at least ${opts.min}`);
    // a page size above the maximum is clamped, not refused: the client just gets less
    return opts.max !== undefined ? Math.min(n, opts.max) : n;
  }

  bool(name: string): boolean {
    const v = this.params.get(name);
    return v !== null && v !== '0' && v !== 'false';
  }
}

/** The request's URL, parsed against a dummy origin (only path and query are used). */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://console.invalid');
}

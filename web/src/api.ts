// The console API from the browser: JSON GETs that throw ApiError with the server's message, and
// live event streams. The access token, if any, travels in the cookie the server set.
import type { ConsoleEvent } from '../../src/console/api-types.js';
import { query } from './dom.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | undefined | null>;

export function apiUrl(path: string, params: Params = {}): string {
  return `/api${path}${query(params)}`;
}

export async function api<T>(path: string, params: Params = {}): Promise<T> {
  const res = await fetch(apiUrl(path, params), { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok) {
    const e = (body as { error?: { code: string; message: string; hint: string | null } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? 'E_HTTP', e?.message ?? `${res.status} ${res.statusText}`, e?.hint ?? null);
  }
  return body as T;
}

export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** Listen to /api/events for a scope; returns the function that stops listening. */
export function subscribe(params: { pipeline?: string; job?: string }, on: (e: ConsoleEvent) => void): () => void {
  const source = new EventSource(apiUrl('/events', params));
  for (const type of ['jobs', 'logs', 'error'] as const) {
    source.addEventListener(type, (ev) => on(JSON.parse((ev as MessageEvent<string>).data) as ConsoleEvent));
  }
  return () => source.close();
}

// Who may talk to the console: the loopback interface by default (with a Host check against DNS
// rebinding), and anything else only with the access token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from '../http-errors.js';

/** Whether binding to `host` keeps the console on this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** A new random access token (URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The cookie a browser keeps the token in: one per port, so two consoles do not clash. */
export function tokenCookieName(port: number): string {
  return `tusk_console_${port}`;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Checks requests against the bound address and the token. */
export class AccessGate {
  private readonly tokenDigest: Buffer | null;
  private readonly allowedHosts: Set<string> | null;

  constructor(
    readonly token: string | null,
    readonly port: number,
    bindHost: string,
  ) {
    this.tokenDigest = token === null ? null : digest(token);
    // On loopback, a page on another site can still reach us through a DNS name that resolves to
    // 127.0.0.1: only Host headers naming the loopback address itself are accepted.
    this.allowedHosts = isLoopbackHost(bindHost) ? new Set(['localhost', '127.0.0.1', '[::1]', bindHost.toLowerCase()].map((h) => `${h}:${port}`)) : null;
  }

  get cookieName(): string {
    return tokenCookieName(this.port);
  }

  /** Throws a 403/401 HttpError when the request may not proceed. `queryToken` is `?token=`, if any. */
  check(req: IncomingMessage, queryToken: string | undefined): void {
    if (this.allowedHosts) {
      const host = (req.headers.host ?? '').toLowerCase();
      if (!this.allowedHosts.has(host)) {
        throw new HttpError(403, 'E_FORBIDDEN', `host ${JSON.stringify(host.slice(0, 100))} is not this console's address`, `open http://127.0.0.1:${this.port}/`);
      }
    }
    if (this.tokenDigest === null) return;
    const auth = req.headers.authorization;
    const bearer = auth && /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    const given = bearer ?? queryToken ?? cookieValue(req.headers.cookie, this.cookieName);
    if (given === undefined || !timingSafeEqual(digest(given), this.tokenDigest)) {
      throw new HttpError(401, 'E_UNAUTHORIZED', given === undefined ? 'an access token is required' : 'the access token is wrong', 'open the URL that `tusk console` printed (it carries ?token=…), or send Authorization: Bearer TOKEN');
    }
  }

  /** Set-Cookie value that keeps a token given in the URL for the rest of the session. */
  cookieFor(token: string): string {
    return `${this.cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Lax; Path=/`;
  }
}

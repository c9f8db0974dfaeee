// Reads of S3 objects (GET whole or by range, ListObjectsV2) over node:http(s), signed here with
// AWS Signature Version 4, for the commands that must start fast: a lazy clone's first read of a
// file makes one ranged GET, and loading the SDK for it took longer than the read itself; a lazy
// clone only reads. Used only when the credentials are in the environment and nothing asks for
// what only the SDK does (a profile, a custom endpoint variable, FIPS or dual-stack endpoints);
// otherwise s3-store.ts reads through the SDK. Writes always go through the SDK.
//
// Failures are thrown in the SDK's shape (`name`, `$metadata.httpStatusCode`, or a network
// `code`), so that s3-store.ts turns them into the same errors whichever path made the request.
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import type * as https from 'node:https';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';

// node:http and node:https (with tls) are loaded on the first request, not when the store module
// graph is: every command starts through this module, and most never read S3 this way.
const load = createRequire(import.meta.url);
type HttpModules = { http: typeof http; https: typeof https };
let modules: HttpModules | undefined;
function httpModules(): HttpModules {
  return (modules ??= { http: load('node:http') as typeof http, https: load('node:https') as typeof https });
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Address {
  bucket: string;
  endpoint?: string;
  region: string;
  pathStyle: boolean;
}

/**
 * The credentials the SDK's default chain would take from the environment, or undefined when it
 * would look elsewhere (AWS_PROFILE makes it skip the environment's keys) or when the request
 * needs an endpoint rule only the SDK knows.
 */
export function envCredentials(env: NodeJS.ProcessEnv = process.env): S3Credentials | undefined {
  if (env.AWS_PROFILE || env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_USE_FIPS_ENDPOINT === 'true' || env.AWS_USE_DUALSTACK_ENDPOINT === 'true') return undefined;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/** S3's encoding of a key in a path: every byte but the unreserved characters, '/' kept. */
export function encodeKey(key: string): string {
  return key
    .split('/')
    .map((p) => encodeURIComponent(p).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** RFC 3986 encoding of a query string's name or value, as SigV4 wants it. */
const encodeQuery = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Where an object is (the bucket itself for key ''): the SDK's addressing (virtual-hosted when the bucket name allows it, path-style otherwise or when asked). */
export function objectUrl(a: S3Address, key: string): URL {
  const base = new URL(a.endpoint ?? `https://s3.${a.region}.amazonaws.com`);
  const hostable = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(a.bucket) && !(base.protocol === 'https:' && a.bucket.includes('.'));
  const prefix = base.pathname.replace(/\/+$/, '');
  if (a.pathStyle || !hostable || isIP(base.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0) {
    base.pathname = key === '' ? `${prefix}/${encodeKey(a.bucket)}` : `${prefix}/${encodeKey(a.bucket)}/${encodeKey(key)}`;
  } else {
    base.hostname = `${a.bucket}.${base.hostname}`;
    base.pathname = `${prefix}/${encodeKey(key)}`;
  }
  return base;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * The headers that sign a GET of `url` with AWS Signature Version 4 (no query string; `extra`
 * headers, such as Range, are signed too). `now` is the signing time.
 */
export function signGet(url: URL, region: string, creds: S3Credentials, extra: Record<string, string>, now = new Date()): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: url.host, 'x-amz-content-sha256': EMPTY_SHA256, 'x-amz-date': amzDate };
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v.trim();
  const names = Object.keys(headers).sort();
  const signed = names.join(';');
  // the query as sent: names and values already encoded, sorted by name
  const query = url.search
    .slice(1)
    .split('&')
    .filter((p) => p !== '')
    .map((p) => (p.includes('=') ? p : `${p}=`))
    .sort()
    .join('&');
  const canonical = ['GET', url.pathname, query, ...names.map((n) => `${n}:${headers[n]}`), '', signed, EMPTY_SHA256].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}` };
}

/** A failure in the SDK's shape: what s3-store.ts maps to tusk's errors. */
export class S3Failure extends Error {
  readonly $metadata: { httpStatusCode?: number };
  constructor(
    name: string,
    status: number | undefined,
    readonly code?: string,
  ) {
    super(name);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/** Attempts of one request: a server error, a dropped connection, or an empty body before any byte is tried again. */
const ATTEMPTS = 3;
const RETRY_MS = [50, 200];
const RETRIED_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ShortBody']);

/** Reads of one bucket's objects, over keep-alive connections. */
export class S3Reader {
  private readonly agent: http.Agent;
  private readonly ca: Buffer | undefined;

  constructor(
    private readonly a: S3Address,
    private readonly creds: S3Credentials,
  ) {
    const secure = new URL(a.endpoint ?? 'https://x').protocol === 'https:';
    // the SDK's node handler reads AWS_CA_BUNDLE too
    this.ca = secure && process.env.AWS_CA_BUNDLE ? fs.readFileSync(process.env.AWS_CA_BUNDLE) : undefined;
    const { http, https } = httpModules();
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 16, ...(this.ca ? { ca: this.ca } : {}) }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /**
   * Bytes [offset, offset + length) of an object as they arrive. A response of another length
   * throws a ShortBody or LongBody failure; one that brought no byte at all is asked again first.
   */
  async *read(key: string, offset: number, length: number): AsyncIterable<Buffer> {
    for (let attempt = 1; ; attempt++) {
      let got = 0;
      try {
        for await (const piece of this.once(key, offset, length)) {
          got += piece.length;
          yield piece;
        }
        return;
      } catch (err) {
        if (got > 0 || !retried(err, attempt)) throw err;
        await pause(attempt);
      }
    }
  }

  /** A whole object; undefined when there is none. */
  get(key: string): Promise<Buffer | undefined> {
    return withRetries(async () => {
      const res = await this.request(objectUrl(this.a, key), {});
      if (res.statusCode === 404) {
        const code = await errorCode(res);
        if (code === 'NoSuchBucket') throw new S3Failure(code, 404);
        return undefined;
      }
      if (res.statusCode !== 200) throw new S3Failure(await errorCode(res), res.statusCode);
      return bodyOf(res);
    });
  }

  /** One page (≤ 1,000 keys) of ListObjectsV2 under `prefix`; `next`: the token of the next page. */
  list(prefix: string, token: string | undefined): Promise<{ keys: string[]; next?: string }> {
    const url = objectUrl(this.a, '');
    url.search = [['continuation-token', token], ['list-type', '2'], ['prefix', prefix]]
      .filter((p): p is [string, string] => p[1] !== undefined)
      .map(([k, v]) => `${encodeQuery(k)}=${encodeQuery(v)}`)
      .join('&');
    return withRetries(async () => {
      const res = await this.request(url, {});
      if (res.statusCode !== 200) throw new S3Failure(await errorCode(res), res.statusCode);
      const xml = (await bodyOf(res)).toString('utf8');
      const keys = [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]!));
      const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml);
      const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
      if (truncated && !next) throw new S3Failure('BadListing', 200);
      return { keys, ...(truncated ? { next: unescapeXml(next!) } : {}) };
    });
  }

  private request(url: URL, extra: Record<string, string>): Promise<http.IncomingMessage> {
    const headers = signGet(url, this.a.region, this.creds, extra);
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      const { http, https } = httpModules();
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers, agent: this.agent }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => reject(new S3Failure(err.code ?? 'NetworkError', undefined, err.code ?? 'NetworkError')));
      req.end();
    });
  }

  private async *once(key: string, offset: number, length: number): AsyncIterable<Buffer> {
    const res = await this.request(objectUrl(this.a, key), { range: `bytes=${offset}-${offset + length - 1}` });
    const status = res.statusCode ?? 0;
    if (status !== 206 && !(status === 200 && offset === 0)) {
      throw new S3Failure(await errorCode(res), status);
    }
    let at = 0;
    let ended = false;
    try {
      for await (const piece of res as AsyncIterable<Buffer>) {
        at += piece.length;
        if (at > length) throw new S3Failure('LongBody', status, 'LongBody');
        yield piece;
      }
      ended = true;
    } catch (err) {
      if (err instanceof S3Failure) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
      throw new S3Failure(code, undefined, code);
    } finally {
      // a reader that stops early leaves the rest unread: that connection cannot be reused
      if (!ended) res.destroy();
    }
    if (at !== length) throw new S3Failure('ShortBody', status, 'ShortBody');
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `fn` again after a failure worth another attempt, up to ATTEMPTS in all. */
async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retried(err, attempt)) throw err;
      await pause(attempt);
    }
  }
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, RETRY_MS[attempt - 1]));

/** Whether a failed attempt is worth another: a server error, a dropped connection, an empty body. */
function retried(err: unknown, attempt: number): boolean {
  return attempt < ATTEMPTS && (RETRIED_CODES.has((err as S3Failure).code ?? '') || ((err as S3Failure).$metadata?.httpStatusCode ?? 0) >= 500);
}

/** A whole response body; a connection that drops before its Content-Length is a failure to retry. */
async function bodyOf(res: http.IncomingMessage): Promise<Buffer> {
  const pieces: Buffer[] = [];
  try {
    for await (const piece of res as AsyncIterable<Buffer>) pieces.push(piece);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
    throw new S3Failure(code, undefined, code);
  }
  const body = Buffer.concat(pieces);
  const declared = Number(res.headers['content-length'] ?? body.length);
  if (body.length !== declared) throw new S3Failure('ShortBody', res.statusCode, 'ShortBody');
  return body;
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );
}

/** The error code of an S3 error response (its XML <Code>), else a name for its status. */
async function errorCode(res: http.IncomingMessage): Promise<string> {
  let body = '';
  try {
    for await (const piece of res as AsyncIterable<Buffer>) {
      if (body.length < 4096) body += piece.toString('utf8');
    }
  } catch {
    // the status says enough
  }
  const code = /<Code>([^<]{1,64})<\/Code>/.exec(body)?.[1];
  if (code) return code;
  const status = res.statusCode ?? 0;
  return status === 404 ? 'NotFound' : status === 403 ? 'AccessDenied' : `HTTP${status}`;
}

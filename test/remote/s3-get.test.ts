// Reads without the SDK (src/remote/s3-get.ts): the signature is the SDK's own signer's, byte
// for byte (s3rver takes any signature); against a real S3 server (s3rver) ranges, whole objects
// and listings come back as stored, also for keys that need encoding; a listing of more than a
// page follows its continuation token (served by the relay: s3rver's tokens need DES, which
// this Node's OpenSSL no longer has); 404, 403, 500, a dropped connection and a body of
// the wrong length (s3rver has been seen answering 0 bytes) become clear errors or are retried,
// through a relay in front of the server that misbehaves on request.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { IoError, InvalidArgumentError } from '../../src/errors.js';
import { openObjectStore } from '../../src/remote/config.js';
import type { ObjectStore } from '../../src/remote/object-store.js';
import { envCredentials, objectUrl, signGet } from '../../src/remote/s3-get.js';
import { startS3, type S3Server } from './s3-server.js';
import { processEnv } from '../helpers.js';

let s3: S3Server;
const env = processEnv();
const setEnv = env.set;

/** What the relay does to the next requests for object keys: each entry serves one request. */
type Fault = 'status500' | 'status403' | 'empty' | 'short' | 'drop';
let faults: Fault[] = [];
/** continuation tokens the relay's paged listing was asked with */
const tokens: (string | null)[] = [];
let relayed = 0;
let relay: http.Server;
let relayEndpoint: string;

beforeAll(async () => {
  s3 = await startS3(['tusk']);
  setEnv(s3.env);
  const to = new URL(s3.endpoint);
  relay = http.createServer((req, res) => {
    relayed++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('prefix') === 'get-test/paged/') {
      // two pages of a listing, the token escaped as S3 escapes it in XML
      const token = url.searchParams.get('continuation-token');
      tokens.push(token);
      const keys = token === null ? ['get-test/paged/a', 'get-test/paged/b&c'] : ['get-test/paged/d'];
      const more = token === null ? '<IsTruncated>true</IsTruncated><NextContinuationToken>t+/=&amp;1</NextContinuationToken>' : '<IsTruncated>false</IsTruncated>';
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>tusk</Name>${more}${keys.map((k) => `<Contents><Key>${k.replace('&', '&amp;')}</Key></Contents>`).join('')}</ListBucketResult>`);
      return;
    }
    const fault = req.method === 'GET' && !req.url?.includes('list-type') ? faults.shift() : undefined;
    if (fault === 'status500' || fault === 'status403') {
      // s3rver takes any secret for its key id: a refusal is the relay's
      const [status, code] = fault === 'status500' ? [500, 'InternalError'] : [403, 'SignatureDoesNotMatch'];
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>x</Message></Error>`);
      return;
    }
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      if (fault === 'empty' || fault === 'short') {
        const chunks: Buffer[] = [];
        r.on('data', (b: Buffer) => chunks.push(b));
        r.on('end', () => {
          const body = Buffer.concat(chunks);
          // the real status; no byte at all, or half of them and the connection closed
          if (fault === 'empty') {
            res.writeHead(r.statusCode ?? 500, { 'content-length': '0' });
            res.end();
          } else {
            res.writeHead(r.statusCode ?? 500, { 'content-length': String(body.length) });
            res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
          }
        });
        return;
      }
      res.writeHead(r.statusCode ?? 500, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayEndpoint = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => relay?.close(resolve));
  env.restore();
  await s3?.close();
});

const client = (endpoint: string): ObjectStore => openObjectStore({ url: 's3://tusk/get-test', endpoint, pathStyle: true, checksums: 'when-required' });
const collect = async (it: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const p of it) out.push(p);
  return Buffer.concat(out);
};
const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; hint?: string };
  }
  throw new Error('expected a failure');
};

type Source = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: Source) => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

/** The SDK signer's hash, over node:crypto (the SDK's own is not a dependency of tusk). */
class Sha256 {
  private readonly h;
  constructor(secret?: Source) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: Source): void {
    this.h.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
}

describe('the signature', () => {
  it('is the one the SDK signer computes for the same GET', async () => {
    const date = new Date('2026-03-04T05:06:07Z');
    for (const creds of [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }, { accessKeyId: 'AKID2', secretAccessKey: 'secret2', sessionToken: 'token/with+chars=' }]) {
      for (const key of ['packs/abc.pack', 'a dir/ünï cödé+(1)*!.bin']) {
        const url = objectUrl({ bucket: 'tusk', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', pathStyle: true }, key);
        const ours = signGet(url, 'eu-west-3', creds, { range: 'bytes=10-99' }, date);
        const signer = new SignatureV4({ credentials: creds, region: 'eu-west-3', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
        const sdk = await signer.sign(
          { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: url.pathname, query: {}, headers: { host: url.host, range: 'bytes=10-99', 'x-amz-content-sha256': ours['x-amz-content-sha256']! } },
          { signingDate: date },
        );
        expect(ours.authorization).toBe(sdk.headers.authorization);
      }
    }
    // a listing's query string: sorted, encoded
    const url = objectUrl({ bucket: 'tusk', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', pathStyle: true }, '');
    url.search = 'continuation-token=a%2Bb%2Fc%3D&list-type=2&prefix=lazy%2Frefs%2F';
    const creds = { accessKeyId: 'AKID3', secretAccessKey: 'secret3' };
    const ours = signGet(url, 'eu-west-3', creds, {}, date);
    const signer = new SignatureV4({ credentials: creds, region: 'eu-west-3', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
    const sdk = await signer.sign(
      { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: url.pathname, query: { 'list-type': '2', prefix: 'lazy/refs/', 'continuation-token': 'a+b/c=' }, headers: { host: url.host, 'x-amz-content-sha256': ours['x-amz-content-sha256']! } },
      { signingDate: date },
    );
    expect(ours.authorization).toBe(sdk.headers.authorization);
  });

  it('addresses objects as the SDK does: virtual-hosted when the bucket allows it', () => {
    expect(objectUrl({ bucket: 'tusk', region: 'eu-west-3', pathStyle: false }, 'x/y').href).toBe('https://tusk.s3.eu-west-3.amazonaws.com/x/y');
    expect(objectUrl({ bucket: 'my.bucket', region: 'eu-west-3', pathStyle: false }, 'k').href).toBe('https://s3.eu-west-3.amazonaws.com/my.bucket/k');
    expect(objectUrl({ bucket: 'tusk', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: false }, 'k').href).toBe('http://127.0.0.1:9000/tusk/k');
    expect(objectUrl({ bucket: 'tusk', endpoint: 'https://minio.example:9000/base/', region: 'us-east-1', pathStyle: false }, 'k').href).toBe('https://tusk.minio.example:9000/base/k');
    expect(objectUrl({ bucket: 'tusk', endpoint: 'http://[::1]:9000', region: 'us-east-1', pathStyle: false }, 'k').href).toBe('http://[::1]:9000/tusk/k');
    expect(objectUrl({ bucket: 'tusk', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true }, '').href).toBe('http://127.0.0.1:9000/tusk');
  });

  it('is used only when the SDK would take the credentials from the environment', () => {
    const env = { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    expect(envCredentials(env)).toEqual({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(envCredentials({ ...env, AWS_SESSION_TOKEN: 't' })?.sessionToken).toBe('t');
    expect(envCredentials({ ...env, AWS_PROFILE: 'work' })).toBeUndefined();
    expect(envCredentials({ ...env, AWS_ENDPOINT_URL_S3: 'http://x' })).toBeUndefined();
    expect(envCredentials({ AWS_ACCESS_KEY_ID: 'a' })).toBeUndefined();
  });
});

describe('ranged GETs against s3rver', () => {
  const body = randomBytes(300_000);
  const odd = 'packs/a dir/ünï cödé+(1)*!.bin';

  beforeAll(async () => {
    const c = client(s3.endpoint);
    await c.put('packs/p.pack', body);
    await c.put(odd, body.subarray(0, 1000));
    c.close();
  });

  it('reads ranges at the start, in the middle, at the end and whole, also of keys that need encoding', async () => {
    const c = client(s3.endpoint);
    try {
      for (const [off, len] of [
        [5, 1],
        [0, 4096],
        [12_345, 100_000],
        [body.length - 7, 7],
        [0, body.length],
      ] as const) {
        expect((await collect(c.readRange('packs/p.pack', off, len))).equals(body.subarray(off, off + len))).toBe(true);
        expect((await c.getRange('packs/p.pack', off, len)).equals(body.subarray(off, off + len))).toBe(true);
      }
      expect((await c.getRange(odd, 100, 200)).equals(body.subarray(100, 300))).toBe(true);
      expect(c.requests.get).toBe(11);
    } finally {
      c.close();
    }
  });

  it('reads whole objects (none: undefined) and lists keys, names decoded, page after page', async () => {
    const c = client(s3.endpoint);
    try {
      const names = ['list/k1', 'list/k2', 'list/x&y<z>"q\'.bin'];
      for (const k of names) await c.put(k, Buffer.from(k));
      const before = { ...c.requests };
      expect(await c.list('list/')).toEqual(names);
      expect(c.requests.list - before.list).toBe(1);
      expect((await c.get(odd))!.equals(body.subarray(0, 1000))).toBe(true);
      expect((await c.get('list/x&y<z>"q\'.bin'))!.toString()).toBe('list/x&y<z>"q\'.bin');
      expect(await c.get('packs/none.pack')).toBeUndefined();
      expect(await c.list('nothing/')).toEqual([]);
    } finally {
      c.close();
    }
    const r = client(relayEndpoint);
    try {
      expect(await r.list('paged/')).toEqual(['paged/a', 'paged/b&c', 'paged/d']);
      expect(tokens).toEqual([null, 't+/=&1']);
      expect(r.requests.list).toBe(2);
    } finally {
      r.close();
    }
  });

  it('a missing object is E_IO naming it; a range past the end is E_IO too', async () => {
    const c = client(s3.endpoint);
    try {
      const err = await errorOf(c.getRange('packs/none.pack', 0, 10));
      expect(err).toBeInstanceOf(IoError);
      expect(err.message).toContain('packs/none.pack');
      expect(err.message).toContain('missing');
      const past = await errorOf(c.getRange('packs/p.pack', body.length - 5, 10));
      expect(past).toBeInstanceOf(IoError);
      expect(past.message).toContain('packs/p.pack');
    } finally {
      c.close();
    }
  });

  it('a refusal (403) is a usage error naming the object and the reason given, not a retry', async () => {
    const c = client(relayEndpoint);
    try {
      faults = ['status403'];
      relayed = 0;
      const err = await errorOf(c.getRange('packs/p.pack', 0, 10));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe('access to packs/p.pack at s3://tusk/get-test was refused (SignatureDoesNotMatch)');
      expect(relayed).toBe(1);
    } finally {
      faults = [];
      c.close();
    }
  });

  it('a server error, a dropped connection or an empty body is asked again; one that persists is E_IO', async () => {
    const c = client(relayEndpoint);
    try {
      for (const f of ['status500', 'empty', 'drop'] as const) {
        faults = [f];
        relayed = 0;
        expect((await c.getRange('packs/p.pack', 10, 5000)).equals(body.subarray(10, 5010))).toBe(true);
        expect(relayed).toBe(2);
      }
      for (const f of ['status500', 'drop'] as const) {
        faults = [f];
        relayed = 0;
        expect((await c.get('packs/p.pack'))!.equals(body)).toBe(true);
        expect(relayed).toBe(2);
      }
      faults = ['status500', 'status500', 'status500'];
      const err = await errorOf(c.getRange('packs/p.pack', 10, 5000));
      expect(err).toBeInstanceOf(IoError);
      expect(err.message).toContain('HTTP 500');
      faults = ['empty', 'empty', 'empty'];
      const empty = await errorOf(c.getRange('packs/p.pack', 10, 5000));
      expect(empty).toBeInstanceOf(IoError);
      expect(empty.message).toContain('is not the length expected');
    } finally {
      faults = [];
      c.close();
    }
  });

  it('a body cut short after some bytes arrived is E_IO, not a shorter range', async () => {
    const c = client(relayEndpoint);
    try {
      faults = ['short'];
      const err = await errorOf(collect(c.readRange('packs/p.pack', 0, 200_000)));
      expect(err).toBeInstanceOf(IoError);
      expect(err.message).toContain('packs/p.pack');
    } finally {
      faults = [];
      c.close();
    }
  });

  it('an endpoint that does not answer is E_IO naming it', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const c = client(`http://127.0.0.1:${port}`);
    try {
      const err = await errorOf(c.getRange('packs/p.pack', 0, 10));
      expect(err).toBeInstanceOf(IoError);
      expect(err.message).toContain('cannot reach packs/p.pack at s3://tusk/get-test: ECONNREFUSED');
    } finally {
      c.close();
    }
  });
});

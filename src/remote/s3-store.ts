// A remote in an S3-compatible bucket, through the official SDK and its default credential
// chain (environment, ~/.aws/config and credentials files, profiles, instance roles): tusk never
// stores or prints a secret. The SDK is loaded on first use, so commands that never talk to a
// bucket do not pay for loading it; reads skip it when the credentials are in the environment
// (s3-get.ts), so that a lazy clone and its first read of a file do not load it at all.
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidArgumentError, IoError, NotFoundError, type TuskError } from '../errors.js';
import { newCounts, type ObjectStore } from './object-store.js';
import { envCredentials, S3Reader } from './s3-get.js';

export interface S3Options {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  /** 'when-required': send and check integrity checksums only where S3 demands them (servers that reject the SDK's default headers) */
  checksums?: 'when-supported' | 'when-required';
}

/**
 * Objects up to this size go up in one PUT of a buffer; bigger ones as a multipart upload of
 * 16 MiB parts, 4 at a time. A buffer, not a stream: for a stream the SDK sends its checksum as
 * an aws-chunked trailer, which some S3-compatible servers store as part of the object (s3rver
 * does: the pack's records were damaged, and only the pull's verification noticed).
 */
const SINGLE_PUT_BYTES = 64 << 20;
const PART_BYTES = 16 << 20;
const PART_QUEUE = 4;

type Sdk = typeof import('@aws-sdk/client-s3');
type Storage = typeof import('@aws-sdk/lib-storage');

let sdk: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  // The SDK warns on stderr that later releases will need Node 22: not tusk's output to give.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return (sdk ??= import('@aws-sdk/client-s3'));
}

// multipart uploads only: a read (a lazy clone's first read of a file) does not load it
let storage: Promise<Storage> | undefined;
function loadStorage(): Promise<Storage> {
  return (storage ??= import('@aws-sdk/lib-storage'));
}

export class S3ObjectStore implements ObjectStore {
  readonly requests = newCounts();
  private client: Promise<{ s3: S3Client; sdk: Sdk }> | undefined;

  constructor(
    private readonly o: S3Options,
    readonly url: string,
  ) {}

  private open() {
    return (this.client ??= loadSdk().then((sdk) => {
      const s3 = new sdk.S3Client({
        endpoint: this.o.endpoint,
        region: this.region(),
        forcePathStyle: this.o.pathStyle ?? false,
        ...(this.o.checksums === 'when-required' ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
      });
      return { s3, sdk };
    }));
  }

  /** Reads without the SDK (s3-get.ts), when the environment holds the credentials; null: through the SDK. */
  private direct(): S3Reader | null {
    if (this.reader === undefined) {
      const creds = envCredentials();
      this.reader = creds ? new S3Reader({ bucket: this.o.bucket, endpoint: this.o.endpoint, region: this.region(), pathStyle: this.o.pathStyle ?? false }, creds) : null;
    }
    return this.reader;
  }
  private reader: S3Reader | null | undefined;

  private region(): string {
    return this.o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  }

  private key(k: string): string {
    return this.o.prefix ? `${this.o.prefix}/${k}` : k;
  }

  async put(key: string, body: Buffer): Promise<void> {
    const { s3, sdk } = await this.open();
    if (body.length <= SINGLE_PUT_BYTES) {
      this.requests.put++;
      await this.call(key, () => s3.send(new sdk.PutObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), Body: body })));
      return;
    }
    // create + parts + complete
    this.requests.put += Math.ceil(body.length / PART_BYTES) + 2;
    const upload = new (await loadStorage()).Upload({
      client: s3,
      params: { Bucket: this.o.bucket, Key: this.key(key), Body: body },
      partSize: PART_BYTES,
      queueSize: PART_QUEUE,
      leavePartsOnError: false,
    });
    await this.call(key, () => upload.done());
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const { s3, sdk } = await this.open();
    this.requests.put++;
    try {
      await s3.send(new sdk.PutObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), Body: body, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (statusOf(err) === 412) return false;
      throw this.error(key, err);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const direct = this.direct();
    if (direct) {
      this.requests.get++;
      try {
        return await direct.get(this.key(key));
      } catch (err) {
        throw (err as { name?: string }).name === 'ShortBody' ? this.wrongLength(key) : this.error(key, err);
      }
    }
    const { s3, sdk } = await this.open();
    this.requests.get++;
    try {
      const r = await s3.send(new sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) }));
      return asBuffer(await r.Body!.transformToByteArray());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.error(key, err);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    if (this.direct()) {
      const out = Buffer.allocUnsafe(length);
      let at = 0;
      for await (const piece of this.readRange(key, offset, length)) (piece.copy(out, at), (at += piece.length));
      return out;
    }
    const { s3, sdk } = await this.open();
    this.requests.get++;
    const buf = await this.call(key, async () => {
      const r = await s3.send(new sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), Range: `bytes=${offset}-${offset + length - 1}` }));
      return readInto(r.Body as AsyncIterable<Uint8Array>, length);
    });
    if (buf === null) throw this.wrongLength(key);
    return buf;
  }

  async *readRange(key: string, offset: number, length: number): AsyncIterable<Buffer> {
    const direct = this.direct();
    if (direct) {
      this.requests.get++;
      try {
        yield* direct.read(this.key(key), offset, length);
      } catch (err) {
        const name = (err as { name?: string }).name;
        throw name === 'ShortBody' || name === 'LongBody' ? this.wrongLength(key) : this.error(key, err);
      }
      return;
    }
    const { s3, sdk } = await this.open();
    this.requests.get++;
    const r = await this.call(key, () => s3.send(new sdk.GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), Range: `bytes=${offset}-${offset + length - 1}` })));
    const body = r.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
    let at = 0;
    let ended = false;
    try {
      const pieces = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await pieces.next();
        } catch (err) {
          throw this.error(key, err);
        }
        if (next.done) break;
        at += next.value.length;
        if (at > length) throw this.wrongLength(key);
        yield asBuffer(next.value);
      }
      ended = true;
    } finally {
      // a reader that stops early (a damaged record) leaves the rest unread: close the connection
      if (!ended) body.destroy?.();
    }
    if (at !== length) throw this.wrongLength(key);
  }

  private wrongLength(key: string): IoError {
    return new IoError(`remote object ${key} at ${this.url} is not the length expected`, 'run `tusk fsck --remote` on a store that pushed to it');
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const key of this.scan(prefix)) out.push(key);
    return out.sort();
  }

  // S3 lists keys in ascending order of their UTF-8 bytes, a page of at most 1,000 per request
  async *scan(prefix: string): AsyncIterable<string> {
    const strip = this.o.prefix ? this.o.prefix.length + 1 : 0;
    let token: string | undefined;
    const direct = this.direct();
    if (direct) {
      do {
        this.requests.list++;
        const page = await this.call(prefix, () => direct.list(this.key(prefix), token));
        for (const k of page.keys) yield k.slice(strip);
        token = page.next;
      } while (token);
      return;
    }
    const { s3, sdk } = await this.open();
    do {
      this.requests.list++;
      const r = await this.call(prefix, () =>
        s3.send(new sdk.ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: this.key(prefix), ContinuationToken: token })),
      );
      for (const o of r.Contents ?? []) if (o.Key) yield o.Key.slice(strip);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const { s3, sdk } = await this.open();
    this.requests.delete++;
    await this.call(key, () => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.key(key) })));
  }

  close(): void {
    this.reader?.close();
    void this.client?.then((c) => c.s3.destroy());
  }

  private async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.error(key, err);
    }
  }

  // Only the error's name and status are shown: a server's message may quote request headers.
  private error(key: string, err: unknown): TuskError {
    const name = (err as { name?: string }).name ?? 'Error';
    const status = statusOf(err);
    const at = `${key} at ${this.url}`;
    if (name === 'CredentialsProviderError' || /credential/i.test(name))
      return new InvalidArgumentError(`no credentials for ${this.url}`, 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials', { cause: err });
    if (name === 'NoSuchBucket') return new NotFoundError('store', this.url, `bucket ${this.o.bucket} does not exist at ${this.url}`, 'create the bucket, or fix the remote URL with `tusk remote add`');
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch')
      return new InvalidArgumentError(`access to ${at} was refused (${name})`, 'check the credentials and the bucket policy', { cause: err });
    if (isMissing(err)) return new IoError(`remote object ${at} is missing`, 'run `tusk fsck --remote` on a store that pushed to it', { cause: err });
    const why = (err as { code?: string }).code ?? name;
    return new IoError(`cannot reach ${at}: ${why}${status ? ` (HTTP ${status})` : ''}`, 'check the endpoint and the network, then retry: what arrived is kept', { cause: err });
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isMissing(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

/** The SDK's bytes as a Buffer over the same memory (a copy would double a 16 MiB range read). */
function asBuffer(a: Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A response body read straight into one buffer of the length asked for (null when it is shorter
 * or longer). The SDK's transformToByteArray keeps every network piece and then copies them all
 * into a new array: for the 16 MiB ranges of a pull that was a second copy of every byte and
 * most of the garbage collector's work.
 */
async function readInto(body: AsyncIterable<Uint8Array>, length: number): Promise<Buffer | null> {
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const piece of body) {
    if (at + piece.length > length) {
      (body as { destroy?: () => void }).destroy?.();
      return null;
    }
    out.set(piece, at);
    at += piece.length;
  }
  return at === length ? out : null;
}

// The object store a remote lives in: immutable named objects, read whole or by range, listed
// by prefix. Two backends implement it (dir-store.ts, s3-store.ts); nothing above this file
// knows which one it talks to.

/** Requests made so far, by kind: on a cloud they are the cost. */
export interface RequestCounts {
  put: number;
  get: number;
  list: number;
  head: number;
  delete: number;
}

export interface ObjectStore {
  /** Where it is, for messages: never carries a secret. */
  readonly url: string;
  readonly requests: RequestCounts;
  /** Store an object; a reader sees all of it or none of it. */
  put(key: string, body: Buffer): Promise<void>;
  /**
   * Store an object unless one exists under the key: false when it existed. A backend that cannot
   * tell (a server that ignores If-None-Match) writes and answers true; the update protocol in
   * refs.ts does not depend on it.
   */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  /** The whole object; undefined when it does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Bytes [offset, offset + length) of an object; throws when it is absent or shorter. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /**
   * Bytes [offset, offset + length) of an object in pieces as they arrive, so a reader holds
   * none of it longer than it needs; throws when it is absent, shorter or longer. One request.
   */
  readRange(key: string, offset: number, length: number): AsyncIterable<Buffer>;
  /** Every key that starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** list(), a page at a time: a caller that walks many keys never holds them all. */
  scan(prefix: string): AsyncIterable<string>;
  delete(key: string): Promise<void>;
  close(): void;
}

export function newCounts(): RequestCounts {
  return { put: 0, get: 0, list: 0, head: 0, delete: 0 };
}

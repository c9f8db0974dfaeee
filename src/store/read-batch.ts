// A read batch's request and reply: the shape file-batch.ts (the JavaScript loop) and
// native-io.ts (the addon's loop) both fill in, so that neither imports the other for it.

export interface ReadRequest {
  paths: string[];
  cached: Float64Array;
  /** files bigger than this are Deferred */
  maxRead: number;
  /** files of 1 byte up to this size (exclusive) are hashed: they are one chunk under the store's profile */
  hashBelow: number;
}

export interface ReadReply {
  buf: ArrayBuffer;
  meta: Float64Array;
  ids: Uint8Array;
  errors: ({ code?: string; message: string } | null)[];
}

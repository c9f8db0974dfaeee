// A real S3-compatible server on loopback for the remote tests: s3rver, path-style, port 0,
// a temporary directory. Its credentials are s3rver's fixed test pair, passed to tusk through
// the environment as a user's would be.
import * as fs from 'node:fs';
import S3rver from 's3rver';
import { tempDir } from '../helpers.js';

export const S3_KEY_ID = 'S3RVER';
export const S3_SECRET = 'S3RVER';

export interface S3Server {
  endpoint: string;
  dir: string;
  /** the environment a tusk talking to this server needs */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

export async function startS3(buckets: string[] = ['tusk']): Promise<S3Server> {
  const dir = tempDir('tusk-s3-');
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    dir,
    env: { AWS_ACCESS_KEY_ID: S3_KEY_ID, AWS_SECRET_ACCESS_KEY: S3_SECRET, AWS_REGION: 'us-east-1', AWS_CA_BUNDLE: undefined, AWS_PROFILE: undefined },
    close: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

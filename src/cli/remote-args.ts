// `tusk push|fetch|pull [REMOTE] [REPO[@BRANCH]...]`: the first word is a remote when the store
// has one by that name (as git reads `git push origin main`), otherwise every word is a target.
import { Flags } from '@oclif/core';
import { listRemotes } from '../remote/config.js';

export function splitRemote(storePath: string, words: readonly string[]): { remote: string | undefined; targets: string[] } {
  const [first, ...rest] = words;
  if (first === undefined) return { remote: undefined, targets: [] };
  return listRemotes(storePath).some((r) => r.name === first) ? { remote: first, targets: rest } : { remote: undefined, targets: [...words] };
}

/** Flags that say how to reach an S3-compatible server; shared with `clone`. */
export const s3Flags = {
  endpoint: Flags.string({ description: 'S3 endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS).' }),
  region: Flags.string({ description: 'S3 region (default: AWS_REGION, the AWS config, or us-east-1).' }),
  'path-style': Flags.boolean({ description: 'Address the bucket in the path (http://HOST/BUCKET), as most S3-compatible servers want.' }),
  checksums: Flags.string({
    description: 'When to send integrity checksums: when-required suits servers that reject the SDK default headers.',
    options: ['when-supported', 'when-required'],
  }),
};

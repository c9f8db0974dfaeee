// Flags shared by the commands that name an S3-compatible server (`remote add`, `clone`).
import { Flags } from '@oclif/core';
import type { RemoteOptions } from '../app/remotes.js';

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

/** The remote options those flags give (unset flags stay unset, so saved settings are not overwritten). */
export function remoteOptions(flags: { endpoint?: string; region?: string; 'path-style'?: boolean; checksums?: string }): RemoteOptions {
  return {
    endpoint: flags.endpoint,
    region: flags.region,
    pathStyle: flags['path-style'] || undefined,
    checksums: flags.checksums as RemoteOptions['checksums'],
  };
}

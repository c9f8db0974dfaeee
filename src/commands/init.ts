import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { remoteOptions, s3Flags } from '../cli/remote-args.js';
import { initTusk, type InitResult } from '../app/tusk.js';
import { done } from '../ui/messages.js';

export type { InitResult };

export default class Init extends TuskCommand<InitResult> {
  static override summary = 'Create a tusk store.';
  static override description =
    'Makes DIR/.tusk, the store every other command finds by walking up from the working directory ' +
    '(or through TUSK_STORE). Running it again on an existing store changes nothing.\n\n' +
    'With --packs, the store keeps its packs in an S3 bucket (s3://BUCKET/PREFIX) or a directory (file:///DIR) ' +
    'behind a bounded local cache, and every command that opens the store reaches them there. The bucket is checked ' +
    'writable first; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or an AWS profile, never from the store.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init ./data',
    '<%= config.bin %> init --packs s3://team-bucket/tusk/packs',
    '<%= config.bin %> init --packs s3://tusk/packs --endpoint http://127.0.0.1:9000 --path-style',
  ];
  static override args = {
    dir: Args.string({ description: 'directory to create the .tusk store in', default: '.' }),
  };
  static override flags = {
    packs: Flags.string({ description: "Keep the store's packs in this bucket or directory: s3://BUCKET/PREFIX or file:///DIR." }),
    ...s3Flags,
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(Init);
    const result = await initTusk(resolve(args.dir), { packs: flags.packs, ...remoteOptions(flags) });
    this.render(() => done.init(result.path, result.created, result.packs));
    return result;
  }
}

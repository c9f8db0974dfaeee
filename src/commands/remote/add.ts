import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { remoteOptions, s3Flags } from '../../cli/remote-args.js';
import type { RemoteConfig } from '../../app/remotes.js';

export type RemoteAddResult = RemoteConfig;

export default class RemoteAdd extends TuskCommand<RemoteAddResult> {
  static override summary = 'Add a remote: an S3 bucket, a directory or a team store to push to and pull from.';
  static override description =
    'Saves NAME → URL in the store (.tusk/remotes.json). Credentials are never saved: S3 remotes use the AWS ' +
    'credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials) when used; a team ' +
    "store's database (postgres://…) takes its password from PGPASSWORD or ~/.pgpass.";
  static override examples = [
    '<%= config.bin %> remote add origin s3://my-bucket/projects/cats',
    '<%= config.bin %> remote add origin s3://tusk --endpoint http://127.0.0.1:9000 --path-style --checksums when-required',
    '<%= config.bin %> remote add usb file:///media/usb/tusk',
    '<%= config.bin %> remote add team postgres://alice@db.example.com:5432/tusk',
  ];
  static override args = {
    name: Args.string({ required: true, description: 'remote name, e.g. origin' }),
    url: Args.string({ required: true, description: "s3://BUCKET/PREFIX, file:///PATH, or a team store's postgres://USER@HOST:PORT/DB (no password)" }),
  };
  static override flags = s3Flags;

  async run(): Promise<RemoteAddResult> {
    const { args, flags } = await this.parse(RemoteAdd);
    const r = (await this.tusk()).remotes.add(args.name, args.url, remoteOptions(flags));
    this.render(() => `remote ${r.name} → ${r.url}`);
    return r;
  }
}

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
    'writable first; credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or an AWS profile, never from the store.\n\n' +
    'With --metadata postgres://USER@HOST:PORT/DB (or TUSK_STORE naming one), the store is a team store: its metadata in that ' +
    'PostgreSQL database, its packs in the bucket --packs names, recorded in the database. On a database that already holds one, ' +
    'init joins it (--packs may be left out). DIR/.tusk (or, through TUSK_STORE, a directory under ~/.cache/tusk) becomes this ' +
    "machine's client directory; the password is never written: it comes from the URL given, PGPASSWORD or ~/.pgpass.";
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init ./data',
    '<%= config.bin %> init --packs s3://team-bucket/tusk/packs',
    '<%= config.bin %> init --packs s3://tusk/packs --endpoint http://127.0.0.1:9000 --path-style',
    '<%= config.bin %> init ./team --metadata postgres://me@db.example:5432/tusk --packs s3://team-bucket/tusk',
    'TUSK_STORE=postgres://me@db.example:5432/tusk <%= config.bin %> init',
  ];
  static override args = {
    dir: Args.string({ description: 'directory to create the .tusk store in', default: '.' }),
  };
  static override flags = {
    packs: Flags.string({ description: "Keep the store's packs in this bucket or directory: s3://BUCKET/PREFIX or file:///DIR." }),
    metadata: Flags.string({ description: 'Make or join the team store whose metadata is this PostgreSQL database: postgres://USER@HOST:PORT/DB.' }),
    ...s3Flags,
  };

  async run(): Promise<InitResult> {
    const { args, flags } = await this.parse(Init);
    const result = await initTusk(resolve(args.dir), { packs: flags.packs, metadata: flags.metadata, ...remoteOptions(flags) });
    this.render(() => done.init(result.path, result.created, result.packs, result.metadata));
    return result;
  }
}

import { basename } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { remoteOptions, s3Flags } from '../cli/remote-args.js';
import { cloneStore, type CloneResult } from '../app/remotes.js';
import { renderFetch } from '../ui/remote-views.js';

export type { CloneResult };

export default class Clone extends TuskCommand<CloneResult> {
  static override summary = 'Make a new store from a remote: every branch, its commits and data.';
  static override description =
    'Creates DIR/.tusk, adds URL as the remote origin and pulls every branch. DIR defaults to the last part of the URL. ' +
    'A failed clone leaves nothing behind.';
  static override examples = [
    '<%= config.bin %> clone s3://my-bucket/projects/cats',
    '<%= config.bin %> clone file:///media/usb/tusk ./cats',
    '<%= config.bin %> clone s3://tusk ./cats --endpoint http://127.0.0.1:9000 --path-style',
    '<%= config.bin %> clone --lazy s3://my-bucket/projects/cats',
    '<%= config.bin %> clone postgres://alice@db.example.com:5432/tusk ./cats',
  ];
  static override args = {
    url: Args.string({ required: true, description: "s3://BUCKET/PREFIX, file:///PATH, or a team store's postgres://USER@HOST:PORT/DB", ignoreStdin: true }),
    // ignoreStdin: oclif otherwise reads a missing argument from a piped stdin (a script's, a CI job's)
    dir: Args.string({ description: 'directory for the new store', ignoreStdin: true }),
  };
  static override flags = {
    ...s3Flags,
    lazy: Flags.boolean({ description: 'Bring metadata only: file bytes are fetched, verified and cached when first read (TUSK_LAZY_CACHE_MAX bounds the cache).' }),
  };

  async run(): Promise<CloneResult> {
    const { args, flags } = await this.parse(Clone);
    const progress = this.progress();
    let r: CloneResult;
    try {
      r = await cloneStore(args.url, args.dir ?? (basename(args.url.replace(/\/+$/, '')) || 'tusk'), {
        ...remoteOptions(flags),
        lazy: flags.lazy,
        onProgress: progress.onProgress,
      });
    } finally {
      progress.done();
    }
    this.render(() => `${renderFetch(r)}\ncloned into ${r.path}`);
    return r;
  }
}

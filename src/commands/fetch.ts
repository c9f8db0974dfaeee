import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { FetchResult } from '../app/remotes.js';
import { renderFetch } from '../ui/remote-views.js';

export type { FetchResult };

export default class Fetch extends TuskCommand<FetchResult> {
  static override summary = "Bring a remote's commits and data into the store, without moving local branches.";
  static override description =
    'Reads each remote branch, downloads the commits this store lacks and the byte ranges of the packs holding ' +
    'their missing chunks, verifies every chunk against its hash, and records them in one transaction.';
  static override examples = ['<%= config.bin %> fetch', '<%= config.bin %> fetch origin images@master'];
  static override strict = false;
  static override args = {
    // ignoreStdin: oclif otherwise reads a missing argument from a piped stdin (a script's, a CI job's)
    remote: Args.string({ description: 'remote name (default: the only remote, or origin)', ignoreStdin: true }),
    targets: Args.string({ description: 'REPO or REPO@BRANCH, any number', ignoreStdin: true }),
  };
  static override flags = { 'dry-run': Flags.boolean({ description: 'Say what would be fetched; fetch nothing.' }) };

  async run(): Promise<FetchResult> {
    const { argv, flags } = await this.parse(Fetch);
    const { remote, targets } = (await this.tusk()).remotes.splitArgs(argv as string[]);
    const progress = this.progress();
    let r: FetchResult;
    try {
      r = await (await this.tusk()).remotes.fetch(remote, { targets, dryRun: flags['dry-run'], onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    this.render(() => renderFetch(r));
    return r;
  }
}

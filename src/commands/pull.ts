import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { FetchResult } from '../app/remotes.js';
import { renderFetch } from '../ui/remote-views.js';

export type { FetchResult as PullResult };

export default class Pull extends TuskCommand<FetchResult> {
  static override summary = 'Fetch from a remote and fast-forward the local branches to it.';
  static override description =
    'Fetches as `tusk fetch` does, then moves each local branch to the remote head in the same transaction, ' +
    'when the remote head descends from it (fast-forward); a branch with local commits the remote lacks is refused.';
  static override examples = ['<%= config.bin %> pull', '<%= config.bin %> pull origin images@master', '<%= config.bin %> pull --lazy'];
  static override strict = false;
  static override args = {
    // ignoreStdin: oclif otherwise reads a missing argument from a piped stdin (a script's, a CI job's)
    remote: Args.string({ description: 'remote name (default: the only remote, or origin)', ignoreStdin: true }),
    targets: Args.string({ description: 'REPO or REPO@BRANCH, any number', ignoreStdin: true }),
  };
  static override flags = {
    'dry-run': Flags.boolean({ description: 'Say what would be pulled; change nothing.' }),
    lazy: Flags.boolean({ description: 'Bring metadata only: file bytes stay on the remote until read. A pull without --lazy fetches what lazy pulls left there.' }),
  };

  async run(): Promise<FetchResult> {
    const { argv, flags } = await this.parse(Pull);
    const { remote, targets } = (await this.tusk()).remotes.splitArgs(argv as string[]);
    const progress = this.progress();
    let r: FetchResult;
    try {
      r = await (await this.tusk()).remotes.fetch(remote, { targets, pull: true, dryRun: flags['dry-run'], lazy: flags.lazy, onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    this.render(() => renderFetch(r));
    return r;
  }
}

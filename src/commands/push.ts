import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { PushResult } from '../app/remotes.js';
import { formatBytes, shortId } from '../ui/format.js';

export type { PushResult };

export default class Push extends TuskCommand<PushResult> {
  static override summary = 'Send branches, their commits and the data they need to a remote.';
  static override description =
    'Sends the commits each branch reaches that the remote lacks, with their provenance and exactly the ' +
    'chunks no remote pack holds, then moves the remote branch. Fast-forward only unless --force. ' +
    'REMOTE defaults to the only remote, or origin; with no REPO, every branch of every repo is pushed.';
  static override examples = ['<%= config.bin %> push', '<%= config.bin %> push origin images@master', '<%= config.bin %> push origin images --dry-run'];
  static override strict = false;
  static override args = {
    // ignoreStdin: oclif otherwise reads a missing argument from a piped stdin (a script's, a CI job's)
    remote: Args.string({ description: 'remote name (default: the only remote, or origin)', ignoreStdin: true }),
    targets: Args.string({ description: 'REPO or REPO@BRANCH, any number', ignoreStdin: true }),
  };
  static override flags = {
    force: Flags.boolean({ description: 'Replace the remote branch even when it is not behind the local one.' }),
    'dry-run': Flags.boolean({ description: 'Say what would be sent; send nothing.' }),
  };

  async run(): Promise<PushResult> {
    const { argv, flags } = await this.parse(Push);
    const { remote, targets } = (await this.tusk()).remotes.splitArgs(argv as string[]);
    const progress = this.progress();
    let r: PushResult;
    try {
      r = await (await this.tusk()).remotes.push(remote, { targets, force: flags.force, dryRun: flags['dry-run'], onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    this.render(() => {
      const lines = r.branches.map((b) => `${b.repo}@${b.branch}: ${b.status}${b.status === 'up-to-date' ? '' : ` ${b.from ? shortId(b.from) : '(new)'} → ${shortId(b.to)}${b.forced ? ' (forced)' : ''}`}`);
      lines.push(`${r.dryRun ? 'would send' : 'sent'} ${r.chunks} chunks, ${formatBytes(r.bytes)}${r.dryRun || r.packs === undefined ? '' : ` in ${r.packs} packs`} to ${r.remote}`);
      return lines.join('\n');
    });
    return r;
  }
}

import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { GcReport } from '../app/api.js';
import type { RemoteGcReport } from '../app/remotes.js';
import { done } from '../ui/messages.js';

export type GcResult = GcReport | RemoteGcReport;

export default class Gc extends TuskCommand<GcResult> {
  static override summary = 'Reclaim the space of data no commit refers to.';
  static override description =
    'Removes chunks, trees and packs left behind by deleted commits, dropped repos and interrupted writes, ' +
    'and rewrites packs that are mostly garbage (where packs are in a bucket, deletes the objects no chunk needs and rewrites the mostly empty ones as new objects). With --remote, reclaims the packs no branch of a remote needs, ' +
    'in two runs: the first lists them, a run after the grace period deletes those still unneeded (docs/remotes.md).';
  static override examples = ['<%= config.bin %> gc', '<%= config.bin %> gc --dry-run', '<%= config.bin %> gc --remote origin'];
  static override flags = {
    remote: Flags.string({ description: 'Reclaim packs on this remote instead of the local store.' }),
    'dry-run': Flags.boolean({ description: 'Change nothing: list the packs a run would remove or rewrite and count what it would reclaim.', exclusive: ['remote'] }),
    grace: Flags.integer({ description: 'With --remote: seconds a listed pack waits before it is deleted, longer than any push lasts (default 86400).', min: 0, dependsOn: ['remote'] }),
  };

  async run(): Promise<GcResult> {
    const { flags } = await this.parse(Gc);
    if (flags.remote !== undefined) {
      const report = await (await this.tusk()).remotes.gc(flags.remote, { graceS: flags.grace });
      this.render(() => done.remoteGc(report));
      return report;
    }
    const report = await (await this.tusk()).data.gc({ dryRun: flags['dry-run'] });
    this.render(() => done.gc(report));
    return report;
  }
}

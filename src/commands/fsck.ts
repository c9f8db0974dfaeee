import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { CorruptError } from '../errors.js';
import type { FsckReport } from '../app/api.js';
import type { RemoteFsckReport } from '../app/remotes.js';
import { done, msg } from '../ui/messages.js';

export type FsckResult = FsckReport | RemoteFsckReport;

export default class Fsck extends TuskCommand<FsckResult> {
  static override summary = "Check the store's integrity.";
  static override description =
    'Checks that every branch, commit, tree and file points at data that exists. --verify-data also reads ' +
    'every chunk and checks it against its hash. Prints one line per problem; exits 5 if there are any.';
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --verify-data', '<%= config.bin %> fsck --remote origin'];
  static override flags = {
    'verify-data': Flags.boolean({ description: 'Read every chunk back and verify its hash (slow).' }),
    remote: Flags.string({ description: 'Check this remote instead of the local store (docs/remotes.md).' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<FsckResult> {
    const { flags } = await this.parse(Fsck);
    if (flags.remote !== undefined) return this.checkRemote(flags.remote, flags['verify-data']);
    const progress = this.progress();
    let report: FsckReport;
    try {
      report = await (await this.tusk()).data.fsck({ verifyData: flags['verify-data'], onProgress: progress.onProgress });
    } finally {
      progress.done();
    }
    if (report.problems.length > 0) {
      this.render(() => report.problems.map((p) => `${p.subject}: ${p.problem}\n`).join(''));
      // Under --json the report travels as the error's details.
      throw Object.assign(new CorruptError(msg.fsckProblems(report.problems.length), msg.fsckProblemsHint), {
        details: report,
      });
    }
    this.render(() => done.fsckOk(report.checked));
    return report;
  }

  private async checkRemote(name: string, verifyData: boolean): Promise<RemoteFsckReport> {
    const report = await (await this.tusk()).remotes.fsck(name, { verifyData });
    if (report.problems.length > 0) {
      this.render(() => report.problems.map((p) => `${p.subject}: ${p.problem}\n`).join(''));
      throw Object.assign(new CorruptError(msg.fsckProblems(report.problems.length), `the remote ${report.url} is damaged; push again from a sound store`), { details: report });
    }
    const c = report.checked;
    this.render(() => `No errors found on ${report.url}: ${c.branches} branches, ${c.updates} updates, ${c.bundles} bundles, ${c.packs} packs, ${c.chunks} chunks needed${verifyData ? `, ${c.chunksVerified} chunks read and verified` : ''}`);
    return report;
  }
}

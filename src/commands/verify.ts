import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { VerifyReport } from '../app/api.js';
import { verify, VerifyFailedError } from '../app/project.js';
import { verifyView } from '../project/views.js';
import { projectMsg } from '../ui/messages.js';

export type VerifyResult = VerifyReport;

export default class Verify extends TuskCommand<VerifyResult> {
  static override summary = 'Re-run the locked pipelines and check that their outputs match tusk.lock.';
  static override description =
    'Each pipeline in the lock runs again from its locked input commits, with the spec and code of the working ' +
    'tree, as a temporary pipeline in the same store (fresh salt, its own output repo; no real branch moves), ' +
    'and every output file is compared with its locked content id. Exit 0 when everything matches; exit 1 with a ' +
    'report naming the pipeline, datum and file that differ (with the first differing bytes of small files). ' +
    'Needs only the store: see docs/ci.md for restoring it in CI.';
  static override examples = [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify --lock tusk.lock --json',
    { description: 'Only re-run datums whose inputs changed since the base branch (PR checks):', command: '<%= config.bin %> verify --changed --base origin/main' },
  ];
  static override flags = {
    lock: Flags.string({ description: 'Lock file to verify (default: tusk.lock of the project).' }),
    changed: Flags.boolean({ description: 'Only re-run datums whose inputs changed since the base lock.' }),
    base: Flags.string({ description: 'Base lock for --changed (implies it): a lock file, or a git revision (default HEAD~1).' }),
    pipeline: Flags.string({ char: 'p', description: 'Verify only this pipeline (repeatable).', multiple: true }),
  };

  async run(): Promise<VerifyResult> {
    const { flags } = await this.parse(Verify);
    const report = await verify(process.cwd(), { lock: flags.lock, changed: flags.changed || flags.base !== undefined, base: flags.base, pipelines: flags.pipeline });
    this.render(() => verifyView(report));
    if (!report.ok) {
      const failed = report.pipelines.filter((p) => p.status === 'failed').length;
      const inputs = report.inputs.filter((i) => !i.ok).length;
      throw new VerifyFailedError(
        failed > 0 ? projectMsg.pipelinesFailed(failed, report.pipelines.length) : projectMsg.inputsMismatch(inputs),
        report,
      );
    }
    return report;
  }
}

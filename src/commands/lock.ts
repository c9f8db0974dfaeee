import { Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { LockUpdateResult } from '../app/api.js';
import { lock } from '../app/project.js';
import { lockUpdateView } from '../project/views.js';

export type LockResult = LockUpdateResult;

export default class Lock extends TuskCommand<LockResult> {
  static override summary = 'Put the tracked directories into tusk, run the pipelines and write tusk.lock.';
  static override description =
    'What the pre-commit hook does, without touching git: every tracked directory of tusk.yaml that differs from ' +
    'its pinned commit becomes a new commit on its branch, pipelines whose spec or code changed are created or ' +
    'updated (and reprocessed), and tusk.lock records input commits, spec hashes, salts and output ids. Outputs of ' +
    'jobs still running are recorded as running; run it again (or --wait) to pin them.';
  static override examples = ['<%= config.bin %> lock', '<%= config.bin %> lock --wait'];
  static override flags = {
    wait: Flags.boolean({ description: 'Run the pipelines to the end before writing the lock (default: `wait:` in tusk.yaml).', allowNo: true }),
  };

  async run(): Promise<LockResult> {
    const { flags } = await this.parse(Lock);
    const result = await lock({ wait: flags.wait });
    this.render(() => lockUpdateView(result));
    return result;
  }
}

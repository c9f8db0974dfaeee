import { Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { UninstallResult } from '../../app/api.js';
import { KNOWN_HOOKS, uninstallHooks } from '../../app/project.js';
import { uninstallView } from '../../project/views.js';

export type HooksUninstallResult = UninstallResult;

export default class HooksUninstall extends TuskCommand<HooksUninstallResult> {
  static override summary = "Remove tusk's git hooks, restoring the hooks they replaced.";
  static override description = 'Hook files that are not tusk\'s are left alone. A hook tusk had moved to <hook>.pre-tusk is renamed back, unchanged.';
  static override examples = ['<%= config.bin %> hooks uninstall'];
  static override flags = {
    hook: Flags.string({ description: 'Hook to remove (repeatable; default: all of them).', options: [...KNOWN_HOOKS], multiple: true }),
  };

  async run(): Promise<HooksUninstallResult> {
    const { flags } = await this.parse(HooksUninstall);
    const result = uninstallHooks({ hooks: flags.hook });
    this.render(() => uninstallView(result));
    return result;
  }
}

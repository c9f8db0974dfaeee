import { Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { InstallResult } from '../../app/api.js';
import { installHooks, KNOWN_HOOKS } from '../../app/project.js';
import { installView } from '../../project/views.js';

export type HooksInstallResult = InstallResult;

export default class HooksInstall extends TuskCommand<HooksInstallResult> {
  static override summary = 'Install the git hooks that keep tusk.lock current.';
  static override description =
    'Installs pre-commit (put the tracked directories of tusk.yaml into their repos, create or update its pipelines, ' +
    'run them, write tusk.lock and stage it), post-checkout and post-merge (report or check out the data the lock ' +
    'pins). An existing hook is kept as <hook>.pre-tusk and runs first; `tusk hooks uninstall` puts it back. ' +
    'Running it again updates the hooks in place. TUSK_SKIP_HOOKS=1 skips them for one command.';
  static override examples = ['<%= config.bin %> hooks install', '<%= config.bin %> hooks install --hook pre-commit --hook pre-push'];
  static override flags = {
    hook: Flags.string({ description: 'Hook to install (repeatable; default: pre-commit, post-checkout, post-merge).', options: [...KNOWN_HOOKS], multiple: true }),
  };

  async run(): Promise<HooksInstallResult> {
    const { flags } = await this.parse(HooksInstall);
    const result = installHooks({ hooks: flags.hook });
    this.render(() => installView(result));
    return result;
  }
}

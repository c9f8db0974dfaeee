import { Args } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import type { HookRunResult } from '../../app/api.js';
import { runHook } from '../../app/project.js';
import { hookRunView } from '../../project/views.js';

export type HooksRunResult = HookRunResult;

export default class HooksRun extends TuskCommand<HooksRunResult> {
  static override summary = 'Run what one git hook does (the installed hooks call this).';
  static override hidden = true;
  static override strict = false;
  static override args = {
    hook: Args.string({ required: true, description: 'pre-commit, post-checkout, post-merge or pre-push' }),
  };

  async run(): Promise<HooksRunResult> {
    const { args } = await this.parse(HooksRun);
    const result = await runHook(args.hook);
    // hooks talk on stderr: stdout of a hook is not the user's to read
    if (!this.jsonEnabled()) {
      const text = hookRunView(result);
      if (text) process.stderr.write(text + '\n');
    }
    return result;
  }
}

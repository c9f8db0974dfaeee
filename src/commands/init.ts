import { resolve } from 'node:path';
import { Args } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { initStore } from '../app/tusk.js';
import { done } from '../ui/messages.js';

export type InitResult = { path: string; created: boolean };

export default class Init extends TuskCommand<InitResult> {
  static override summary = 'Create a tusk store.';
  static override description =
    'Makes DIR/.tusk, the store every other command finds by walking up from the working directory ' +
    '(or through TUSK_STORE). Running it again on an existing store changes nothing.';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init ./data'];
  static override args = {
    dir: Args.string({ description: 'directory to create the .tusk store in', default: '.' }),
  };

  async run(): Promise<InitResult> {
    const { args } = await this.parse(Init);
    const result = initStore(resolve(args.dir));
    this.render(() => done.init(result.path, result.created));
    return result;
  }
}

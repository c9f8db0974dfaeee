import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import type { CheckoutAllResult } from '../app/api.js';
import { checkout } from '../app/project.js';
import { checkoutView } from '../project/views.js';

export type CheckoutResult = CheckoutAllResult;

export default class Checkout extends TuskCommand<CheckoutResult> {
  static override summary = 'Make a local directory hold exactly a commit (or a directory of it).';
  static override description =
    'Writes the files that differ or are missing and removes local files the commit does not have; unchanged ' +
    'files are left alone. A local file whose content is not saved in the store is never overwritten or removed ' +
    'unless --force. Without an argument, inside a project: every tracked directory at the commit tusk.lock pins.';
  static override examples = [
    '<%= config.bin %> checkout',
    '<%= config.bin %> checkout images@master -o ./images',
    '<%= config.bin %> checkout images@master^:/raw -o ./raw-before',
  ];
  static override args = { ref: Args.string({ description: 'repo@ref[:/path] to check out' }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Local directory (default: the tracked directory of the branch, else ./REPO).' }),
    force: Flags.boolean({ char: 'f', description: 'Overwrite and remove local files even when their content is not in the store.' }),
  };

  async run(): Promise<CheckoutResult> {
    const { args, flags } = await this.parse(Checkout);
    const result = await checkout(process.cwd(), { ref: args.ref, dir: flags.output, force: flags.force });
    this.render(() => checkoutView(result));
    return result;
  }
}

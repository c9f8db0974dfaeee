import { TuskCommand } from '../cli/base.js';
import type { GcReport } from '../app/api.js';
import { done } from '../ui/messages.js';

export type GcResult = GcReport;

export default class Gc extends TuskCommand<GcResult> {
  static override summary = 'Reclaim the space of data no commit refers to.';
  static override description =
    'Removes chunks, trees and packs left behind by deleted commits, dropped repos and interrupted writes, ' +
    'and rewrites packs that are mostly garbage.';
  static override examples = ['<%= config.bin %> gc'];

  async run(): Promise<GcResult> {
    await this.parse(Gc);
    const report = this.tusk().data.gc();
    this.render(() => done.gc(report));
    return report;
  }
}

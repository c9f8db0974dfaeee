import { TuskCommand } from '../../cli/base.js';
import type { RemoteConfig } from '../../app/remotes.js';

export type RemoteListResult = RemoteConfig[];

export default class RemoteList extends TuskCommand<RemoteListResult> {
  static override summary = "List the store's remotes.";
  static override examples = ['<%= config.bin %> remote list', '<%= config.bin %> remote list --json'];
  static override storeAccess = 'read' as const;

  async run(): Promise<RemoteListResult> {
    await this.parse(RemoteList);
    const remotes = (await this.tusk()).remotes.list();
    this.render(() => remotes.map((r) => `${r.name}\t${r.url}${r.endpoint ? `\t(endpoint ${r.endpoint})` : ''}\n`).join(''));
    return remotes;
  }
}

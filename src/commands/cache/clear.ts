import { TuskCommand } from '../../cli/base.js';
import type { CacheCleared } from '../../app/caches.js';
import { formatBytes } from '../../ui/format.js';

export default class CacheClear extends TuskCommand<CacheCleared> {
  static override summary = "Empty the store's caches (datum inputs, blocks of packs read from a bucket); nothing stored is lost.";
  static override examples = ['<%= config.bin %> cache clear'];

  async run(): Promise<CacheCleared> {
    await this.parse(CacheClear);
    const cleared = (await this.tusk()).caches.clear();
    const { inputs: i, packs: p } = cleared;
    this.render(() => `removed ${i.files} cached inputs (${formatBytes(i.bytes)}) and ${p.blocks} cached pack blocks (${formatBytes(p.bytes)})\n`);
    return cleared;
  }
}

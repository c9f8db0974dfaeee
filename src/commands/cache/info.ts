import { TuskCommand } from '../../cli/base.js';
import type { CacheInfo } from '../../app/caches.js';
import { formatBytes } from '../../ui/format.js';

export default class CacheInfoCommand extends TuskCommand<CacheInfo> {
  static override summary = "Show what the store's caches hold: datum inputs and blocks of packs read from a bucket.";
  static override description =
    'The input cache holds files laid out for datums (bound: TUSK_INPUT_CACHE_MAX); the pack cache holds verified blocks of packs ' +
    'kept in a bucket (bound: TUSK_PACK_CACHE_MAX). Both only save reading again (docs/team.md).';
  static override examples = ['<%= config.bin %> cache info', '<%= config.bin %> cache info --json'];
  static override storeAccess = 'read' as const;

  async run(): Promise<CacheInfo> {
    await this.parse(CacheInfoCommand);
    const info = (await this.tusk()).caches.info();
    const { inputs: i, packs: p } = info;
    this.render(
      () =>
        (info.metadata ? `metadata in ${info.metadata}\n` : '') +
        `packs in ${p.at}\n` +
        `inputs\t${formatBytes(i.bytes)} of ${formatBytes(i.maxBytes)}\t${i.files} files\t${i.dir}\n` +
        `packs\t${formatBytes(p.bytes)} of ${formatBytes(p.maxBytes)}\t${p.blocks} blocks\t${p.hits} hits, ${p.misses} misses\t${p.dir}\n`,
    );
    return info;
  }
}

// Human output of fetch, pull and clone.
import type { FetchResult } from '../remote/fetch.js';
import { formatBytes, shortId } from './format.js';

export function renderFetch(r: FetchResult): string {
  const lines = r.branches.map((b) => {
    const head = b.remote ? shortId(b.remote) : '(empty)';
    return `${b.repo}@${b.branch}: ${b.status} ${b.local && b.local !== b.remote ? `${shortId(b.local)} → ` : ''}${head}`;
  });
  lines.push(`${r.dryRun ? 'would fetch' : 'fetched'} ${r.commits} commits, ${r.chunks} chunks, ${formatBytes(r.bytes)} from ${r.remote}`);
  if (r.remoteBacked > 0) lines.push(`${r.remoteBacked} chunks left on ${r.remote}: fetched when read`);
  return lines.join('\n');
}

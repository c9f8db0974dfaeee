// `put file -i LIST`: the sources listed one per line in a local file or on stdin. An entry that
// does not exist is reported with the list file and its line, not as if it had been given with -f.
import { readFileSync } from 'node:fs';
import { NotFoundError, localFileError } from '../errors.js';
import { msg } from '../ui/messages.js';
import type { LocalKind } from './local-kind.js';

const STDIN = '-';

/** One listed source and the 1-based line it is on. */
export interface ListedSource {
  path: string;
  line: number;
}

/** The non-blank lines of a list, trimmed, with their line numbers. */
export function parseListedSources(text: string): ListedSource[] {
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ path: l.trim(), line: i + 1 }))
    .filter((s) => s.path !== '');
}

/** Read the `-i` list `from` (`-` for stdin); every entry must exist (checked with `stat`). */
export async function readListedSources(from: string, stat: (path: string) => LocalKind): Promise<string[]> {
  let text: string;
  if (from === STDIN) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = readFileSync(from, 'utf8');
    } catch (err) {
      throw localFileError(err, from);
    }
  }
  const listed = parseListedSources(text);
  const where = from === STDIN ? 'the list read from stdin' : from;
  for (const s of listed) {
    if (stat(s.path) === 'missing') throw new NotFoundError('local file', s.path, msg.listedMissing(s.path, where, s.line), msg.listedMissingHint(where, s.line));
  }
  return listed.map((s) => s.path);
}

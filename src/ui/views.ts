// How store records are drawn: the tables and `Key: value` blocks of the list and inspect
// commands, with pachctl's columns (2.0–2.4 layouts) and field names.

import type { BranchInfo, CommitInfo, CommitSetInfo, DiffEntry, FileInfo, RepoInfo } from '../store/types.js';
import { dash, formatBytes, type TimeLike } from './format.js';
import { progressBar } from './progress.js';
import { renderKeyValues, renderTable, TableStream, type Cell, type RowStream } from './table.js';

/** Renders a time cell: relative, or absolute under `--full-timestamps`. */
export type TimeFormatter = (t: TimeLike | null | undefined) => string;

/** A repo's display name: `name`, or `name.type` for system repos (pachctl's rule). */
export function repoName(repo: Pick<RepoInfo, 'name' | 'type'>): string {
  return repo.type === 'user' || repo.type === '' ? repo.name : `${repo.name}.${repo.type}`;
}

export function repoTable(repos: RepoInfo[], time: TimeFormatter): string {
  return renderTable(
    ['NAME', 'CREATED', 'SIZE (MASTER)', 'DESCRIPTION'],
    repos.map((r) => [repoName(r), time(r.created), formatBytes(r.sizeBytes), r.description]),
  );
}

export function repoDetails(r: RepoInfo, time: TimeFormatter): string {
  return renderKeyValues([
    ['Name', repoName(r)],
    ['Description', r.description || undefined],
    ['Created', time(r.created)],
    ['Size of HEAD on master', formatBytes(r.sizeBytes)],
  ]);
}

export function branchTable(branches: BranchInfo[]): string {
  return renderTable(
    ['BRANCH', 'HEAD', 'TRIGGER'],
    branches.map((b) => [b.name, dash(b.head), '-']),
  );
}

export function branchDetails(b: BranchInfo): string {
  return renderKeyValues([
    ['Name', `${b.repo}@${b.name}`],
    ['Head Commit', b.head ? `${b.repo}@${b.head}` : undefined],
    ['Provenance', b.provenance.length > 0 ? b.provenance.join(' ') : undefined],
    ['Subvenance', b.subvenance.length > 0 ? b.subvenance.join(' ') : undefined],
  ]);
}

export function commitTable(commits: CommitInfo[], time: TimeFormatter): string {
  return renderTable(
    ['REPO', 'BRANCH', 'COMMIT', 'FINISHED', 'SIZE', 'ORIGIN', 'DESCRIPTION'],
    commits.map((c) => [
      c.repo,
      dash(c.branch),
      c.id,
      c.finished ? time(c.finished) : '-',
      formatBytes(c.sizeBytes),
      c.origin,
      c.description,
    ]),
  );
}

/** `inspect commit` / `wait commit` (PACHYDERM.md 1.7), plus `Error:` for a failed commit. */
export function commitDetails(c: CommitInfo, time: TimeFormatter): string {
  return renderKeyValues([
    ['Commit', `${c.repo}@${c.id}`],
    ['Original Branch', c.branch ?? ''],
    ['Description', c.description || undefined],
    ['Parent', c.parent ?? undefined],
    ['Started', time(c.started)],
    ['Finished', c.finished ? time(c.finished) : undefined],
    ['Size', formatBytes(c.sizeBytes)],
    ['Origin', c.origin],
    // the exact upstream commits this one was made from (pipeline outputs, provenance branches)
    ['Provenance', c.provenance.length ? c.provenance.map((p) => `${p.repo}@${p.branch ? `${p.branch}=` : ''}${p.commit}`).join(', ') : undefined],
    ['Error', c.error || undefined],
  ]);
}

export function commitSetTable(sets: CommitSetInfo[], time: TimeFormatter, color: boolean): string {
  return renderTable(
    ['ID', 'SUBCOMMITS', 'PROGRESS', 'CREATED', 'MODIFIED'],
    sets.map((s) => {
      // `finished` counts failed commits too; open commits are the ones still running.
      const failed = Math.max(0, s.failed);
      const done = Math.max(0, s.finished - failed);
      const running = Math.max(0, s.commits - s.finished);
      const bar = progressBar({ done, running, failed, total: s.commits }, color);
      return [s.id, s.commits, bar, time(s.created), time(s.modified)];
    }),
    { tty: color },
  );
}

/** A file's NAME cell: directories carry a trailing `/`. */
export function fileName(f: Pick<FileInfo, 'path' | 'type'>): string {
  return f.type === 'dir' && !f.path.endsWith('/') ? `${f.path}/` : f.path;
}

export function fileTable(files: FileInfo[]): string {
  return renderTable(
    ['NAME', 'TYPE', 'SIZE'],
    files.map((f) => [fileName(f), f.type, formatBytes(f.sizeBytes)]),
  );
}

export function fileDetails(f: FileInfo): string {
  return renderKeyValues([
    ['Path', f.path],
    ['Datum', f.datum ?? ''],
    ['Type', f.type],
    ['Size', formatBytes(f.sizeBytes)],
  ]);
}

export function diffTable(entries: DiffEntry[]): string {
  return renderTable(
    ['OP', 'NAME', 'TYPE', 'SIZE'],
    entries.map((e) => [e.op, fileName(e), e.type, formatBytes(e.sizeBytes)]),
  );
}

/** `diff file --name-only`: one `+ /path` or `- /path` line per entry. */
export function diffNames(entries: DiffEntry[]): string {
  return entries.map((e) => `${e.op} ${fileName(e)}\n`).join('');
}

/** fileTable for a listing that arrives a page of files at a time (`list file`); see streamTable for the widths. */
export function fileTableStream(opts: { widthRows?: number } = {}): RowStream<FileInfo> {
  const t = new TableStream(['NAME', 'TYPE', 'SIZE'], opts);
  return { row: (f, out) => t.row([fileName(f), f.type, formatBytes(f.sizeBytes)], out), end: (out) => t.end(out) };
}

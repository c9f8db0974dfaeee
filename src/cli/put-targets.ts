// `put file`'s target-path rules: which repo path each `-f` source lands at. Pure given its
// deps (stat, stdin, open), so every row of pachctl's table can be tested without a store.

import { createReadStream, statSync } from 'node:fs';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { InvalidArgumentError, NotFoundError, localFileError } from '../errors.js';
import type { FileRef, PutSource } from '../app/api.js';
import { msg } from '../ui/messages.js';
import type { LocalKind } from './local-kind.js';
import { parseListedSources } from './source-list.js';

export type { LocalKind };

/** The outside world `planPutSources` needs; `localDeps` is the real one. */
export type PutTargetDeps = {
  stat(path: string): LocalKind;
  stdin(): NodeJS.ReadableStream;
  /** A tar archive's bytes (gunzipped for .gz/.tgz). */
  openTar(path: string): NodeJS.ReadableStream;
};

export type PutTargetOptions = {
  /** The `repo@branch[:path]` argument; `path` is undefined when no `:` was given. */
  target: FileRef;
  /** The raw target ended in `/`: the path is a directory to put sources into. */
  targetIsDir?: boolean;
  /** `-f` values and `-i` list entries, in order; empty means stdin. */
  files: string[];
  recursive: boolean;
  untar: boolean;
  fullPath: boolean;
};

const STDIN = '-';
const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * pachctl's rules (its putFileHelper call sites): no path → the source's basename (its whole
 * relative path with --full-path); one source and a path → that path, whatever it is, `/`
 * included: the file's name, or for `-r` the directory the source's contents go into (a file
 * target ending in `/`, and `-r --full-path`, keep the source's name under it); several sources
 * → the path is a prefix; stdin needs a path; --untar unpacks each archive under the path
 * (default `/`).
 */
export function planPutSources(opts: PutTargetOptions, deps: PutTargetDeps): PutSource[] {
  const files = opts.files.length > 0 ? opts.files : [STDIN];
  if (opts.recursive && files.includes(STDIN)) {
    throw new InvalidArgumentError(msg.recursiveStdin, msg.recursiveStdinHint);
  }
  if (files.filter((f) => f === STDIN).length > 1) {
    throw new InvalidArgumentError(msg.stdinTwice, msg.stdinTwiceHint);
  }
  const path = opts.target.path;

  return files.map((source): PutSource => {
    if (source === STDIN) {
      if (opts.untar) return { kind: 'tar', stream: deps.stdin(), repoPath: path ?? '/' };
      if (path === undefined || path === '/') {
        throw new InvalidArgumentError(msg.stdinNeedsPath, msg.stdinNeedsPathHint);
      }
      return { kind: 'stream', stream: deps.stdin(), repoPath: path };
    }
    if (URL_RE.test(source)) {
      throw new InvalidArgumentError(
        `cannot put ${source}: only local files and stdin are supported`,
        'download it first, then put the local copy with -f',
      );
    }

    const kind = deps.stat(source);
    if (kind === 'missing') {
      throw new NotFoundError('local file', source, msg.localMissing(source), msg.localMissingHint);
    }
    if (opts.untar) {
      if (kind === 'dir') throw new InvalidArgumentError(msg.untarDirectory(source), msg.untarDirectoryHint);
      return { kind: 'tar', stream: deps.openTar(source), repoPath: path ?? '/' };
    }
    if (kind === 'dir' && !opts.recursive) {
      throw new InvalidArgumentError(msg.isDirectory(source), msg.isDirectoryHint);
    }

    // basename('photos/') is 'photos'; basename('.') is '.', which joins to '/': `-r -f .`
    // puts the working directory's contents at the root, as pachctl does.
    const name = opts.fullPath ? source : posix.basename(source);
    let repoPath: string;
    if (path === undefined || files.length > 1) repoPath = posix.join('/', path ?? '/', name);
    // One source and a path: the path is where it goes, `/` included (`-r stores@master:/ -f
    // stores` fills the root, as Pachyderm's examples expect). Only a target ending in `/`
    // without -r, and `-r --full-path`, keep the source's name under it, as pachctl does; a
    // file cannot be the root, so there it keeps its name too.
    else if (opts.recursive ? opts.fullPath : opts.targetIsDir === true) repoPath = posix.join(path, name);
    else if (path === '/' && kind === 'file') repoPath = posix.join(path, name);
    else repoPath = path;
    return { kind: 'local', localPath: source, repoPath, recursive: kind === 'dir' };
  });
}

/** Sources listed one per line in a `-i` file; blank lines are skipped. */
export function parseSourceList(text: string): string[] {
  return parseListedSources(text).map((s) => s.path);
}

/** The real filesystem and process streams. */
export const localDeps: PutTargetDeps = {
  stat(path) {
    try {
      return statSync(path).isDirectory() ? 'dir' : 'file';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw localFileError(err, path);
    }
  },
  stdin: () => process.stdin,
  openTar(path) {
    const raw = createReadStream(path);
    if (!/\.(tgz|gz)$/i.test(path)) return raw;
    // pipe() does not forward errors: a read failure must reach whoever consumes the gunzip side.
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(localFileError(err, path)));
    return raw.pipe(gunzip);
  },
};

// The large incompressible file shared by scenarios 1, 2, 3 and 9, and the stores that hold it.
// Each scenario asks for what it needs; whatever an earlier scenario in the same run already built
// is reused, and anything missing (a scenario run on its own with --only) is built here, untimed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { T, dirBytes, exec, fmtBytes, freshStore, gitInit, log, measure, peerEnv, tusk, writeRandomFile } from '../lib.js';

/** The pristine version-1 source file: { file, sha, size }. */
export function bigSource(ctx) {
  if (!ctx.shared.bigSource) {
    const size = ctx.sizes.big;
    const file = path.join(ctx.dir('big/src'), 'big.bin');
    log(`generating ${fmtBytes(size)} of seeded random data`);
    const sha = writeRandomFile(file, size, 'big-v1');
    ctx.shared.bigSource = { file, sha, size };
  }
  return ctx.shared.bigSource;
}

/** Peer repositories kept beside the tusk store (restic, borg, git-lfs), keyed by tool. */
export const BIG_PEERS = ['restic', 'borg', 'git-lfs'];

/**
 * The working copy `work/big.bin` (a git repo when git-lfs is there), whose current version each
 * peer and the kept tusk store already hold. Built by scenario 1, or here untimed.
 */
export function bigWorkDir(ctx) {
  const work = ctx.dir('big/work');
  return { work, file: path.join(work, 'big.bin'), env: peerEnv(ctx.dir('big/home')) };
}

/** Untimed setup of each peer's repository (before its first backup). */
export function initPeer(ctx, tool) {
  const { work, env } = bigWorkDir(ctx);
  const repo = path.join(ctx.root, 'big', tool);
  if (tool === 'restic') exec(['restic', 'init', '--repo', repo, '--quiet'], { env });
  else if (tool === 'borg') exec(['borg', 'init', '--encryption=none', repo], { env });
  else if (tool === 'git-lfs') {
    gitInit(work, env);
    exec(['git', 'lfs', 'install', '--local'], { cwd: work, env });
    exec(['git', 'lfs', 'track', '*.bin'], { cwd: work, env });
    exec(['git', 'add', '.gitattributes'], { cwd: work, env });
    exec(['git', 'commit', '-q', '-m', 'track *.bin with lfs'], { cwd: work, env });
  }
  return repo;
}

/** Store one version of work/big.bin with a peer; timed. Returns the measure result plus repo growth. */
export async function peerBackup(ctx, tool, version, repo = tool === 'git-lfs' ? path.join(bigWorkDir(ctx).work, '.git') : path.join(ctx.root, 'big', tool)) {
  const { work, env } = bigWorkDir(ctx);
  const before = dirBytes(repo);
  let r;
  if (tool === 'restic') r = await measure([T(['restic', 'backup', '--repo', repo, '--quiet', 'big.bin'])], { cwd: work, env });
  else if (tool === 'borg') r = await measure([T(['borg', 'create', `${repo}::${version}`, 'big.bin'])], { cwd: work, env });
  else r = await measure([T(['git', 'add', 'big.bin']), '&&', T(['git', 'commit', '-q', '-m', version])], { cwd: work, env });
  return { ...r, growth: dirBytes(repo) - before, repo };
}

/** The label a peer's row gets. */
export const PEER_LABEL = { restic: 'restic backup', borg: 'borg create', 'git-lfs': 'git lfs: add + commit' };

/**
 * The kept state: a tusk store with work/big.bin at r@master:/big.bin and each installed peer
 * holding the same version. { store, work, file, head: { sha, size }, peers: Set }.
 */
export async function bigWork(ctx) {
  if (ctx.shared.bigWork) return ctx.shared.bigWork;
  const src = bigSource(ctx);
  const { work, file } = bigWorkDir(ctx);
  log('building the version-1 store and peer repositories (untimed)');
  const peers = new Set(BIG_PEERS.filter((t) => ctx.peers[t] && (t !== 'git-lfs' || ctx.peers.git)));
  if (peers.has('git-lfs')) initPeer(ctx, 'git-lfs');
  fs.copyFileSync(src.file, file);
  const store = await freshStore(path.join(ctx.root, 'big', 'store'));
  await measure([T(tusk('put', 'file', 'r@master:/big.bin', '-f', file))], { env: { TUSK_STORE: store } });
  for (const t of peers) {
    if (t !== 'git-lfs') initPeer(ctx, t);
    await peerBackup(ctx, t, 'v1');
  }
  ctx.shared.bigWork = { store, work, file, head: { sha: src.sha, size: src.size }, peers };
  return ctx.shared.bigWork;
}

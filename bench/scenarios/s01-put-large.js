// Scenario 1 — question: does putting a large incompressible file cost about what copying it
// durably (cp + sync) costs? Target (issue): tusk put ≤ 1.3× cp + sync.
import * as path from 'node:path';
import { T, bestRounds, dirBytes, fmtBytes, freshStore, interleave, measure, remove, stallRounds, status, tusk } from '../lib.js';
import { BIG_PEERS, PEER_LABEL, bigSource, bigWorkDir, initPeer, peerBackup } from './big-file.js';

const BUDGET = 1.3;

export default {
  id: 1,
  title: 'Put a large incompressible file',
  question: 'does `put file` of a large incompressible file cost about what `cp` + `sync` of it costs?',
  async run(ctx, rep) {
    const src = bigSource(ctx);
    rep.title = `Put a ${fmtBytes(src.size)} incompressible file`;
    const { work, file } = bigWorkDir(ctx);
    const peers = BIG_PEERS.filter((t) => ctx.peers[t] && (t !== 'git-lfs' || ctx.peers.git));
    for (const t of BIG_PEERS) if (!peers.includes(t)) rep.note(`${t} not installed: its row is skipped`);
    if (peers.includes('git-lfs')) initPeer(ctx, 'git-lfs');

    // The copy made by the last baseline run is the working copy every later step reads.
    //
    // Each step first deletes what the previous round wrote (the copy, the store): both then write
    // into memory freed moments before. Kept (as at first), every round wrote into memory nobody
    // had used for a while, which on this machine kind (free page reporting to the host) stalled
    // now and then for seconds, on either side, and three rounds gave anything from 1.09× to
    // 2.3×. A warm-up round and nine timed ones in full mode, as in scenario 3.
    const storeDir = path.join(ctx.root, 'big', 'store');
    let store;
    let growth = 0;
    const rounds = stallRounds(ctx, 9);
    const { base, put } = await interleave(rounds.runs, {
      base: { step: () => measure([T(['cp', src.file, file]), '&& sync']), setup: () => remove(file) },
      put: {
        step: async () => {
          const before = dirBytes(store);
          const r = await measure([T(tusk('put', 'file', 'r@master:/big.bin', '-f', file))], { env: { TUSK_STORE: store } });
          growth = dirBytes(store) - before;
          return r;
        },
        setup: async () => {
          store = await freshStore(storeDir);
        },
      },
    }, { warmup: rounds.warmup });
    rep.row({ label: 'cp + sync', ms: base.ms, times: base.times, rssKiB: base.rssKiB, base: true });
    const ratio = put.ms / base.ms;
    const pass = ratio <= BUDGET;
    rep.row({ label: 'tusk put file', ms: put.ms, times: put.times, rssKiB: put.rssKiB, growth, status: status(pass, `≤ ${BUDGET}×`) });
    rep.note(bestRounds(put, 'put', base, 'cp + sync'));
    rep.check('put file / (cp + sync)', { actual: `${ratio.toFixed(2)}× (${(put.ms / 1000).toFixed(2)} s vs ${(base.ms / 1000).toFixed(2)} s)`, target: `≤ ${BUDGET}×`, pass });

    for (const t of peers) {
      if (t !== 'git-lfs') initPeer(ctx, t);
      const r = await peerBackup(ctx, t, 'v1');
      rep.row({ label: PEER_LABEL[t], ms: r.ms, rssKiB: r.rssKiB, growth: r.growth, status: 'peer' });
    }
    ctx.shared.bigWork = { store, work, file, head: { sha: src.sha, size: src.size }, peers: new Set(peers) };
  },
};

// Scenario 14 — question: does `tusk list file` of a directory of 1,000,000 entries print its first
// row about as soon as a listing of 10 entries does, and list the whole directory in bounded memory?
// Targets (issue): first row ≤ 100 ms beyond start-up; peak RSS of the whole listing ≤ 100 MiB.
// Start-up is the time to the first row of `tusk list file` of a 10-entry directory in the same
// store: process start, store open, one lookup. (`ls -f | head -1` on a real directory of 1M files
// would be the natural peer, but making one takes minutes on this disk; `node -e` printing a line
// is shown for what the process start alone costs.) Each first-row run is stopped once the row is
// in; the whole listings (table and --json) run to the end with their output thrown away.
import { spawn } from 'node:child_process';
import { NODE, T, TUSK_BIN, fmtMs, fmtRss, interleave, measure, status, syncDisk, tusk } from '../lib.js';
import { wideStore } from './wide-dir.js';

const FIRST_ROW_BUDGET_MS = 100;
const RSS_BUDGET_KIB = 100 * 1024;

/** Spawn argv and time it from spawn to the end of the second line on stdout (a header and a row), then stop it. */
function firstRow(argv, env) {
  syncDisk();
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let ms = null;
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    child.stdout.on('data', (d) => {
      if (ms !== null) return;
      for (const b of d) if (b === 10) lines++;
      if (lines >= 2) {
        ms = Number(process.hrtime.bigint() - start) / 1e6;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', () => (ms === null ? reject(new Error(`no row from ${argv.join(' ')}: ${err.trim()}`)) : resolve({ ms })));
  });
}

export default {
  id: 14,
  title: 'Listing a directory of 1,000,000 entries (100,000 in quick mode)',
  question: 'does list file of a huge directory print its first row as fast as a 10-entry one, and list it all in bounded memory?',
  async run(ctx, rep) {
    const n = ctx.sizes.wide;
    rep.title = `Listing a directory of ${n.toLocaleString('en')} entries`;
    const store = await wideStore(ctx);
    const env = { TUSK_STORE: store };
    const runs = Math.max(ctx.runs, 5);
    const { node, small, wide, wideJson } = await interleave(
      runs,
      {
        node: { step: () => firstRow([NODE, '-e', 'console.log("x\\ny")'], env) },
        small: { step: () => firstRow([NODE, TUSK_BIN, 'list', 'file', 'tiny@master:/dir'], env) },
        wide: { step: () => firstRow([NODE, TUSK_BIN, 'list', 'file', 'wide@master:/dir'], env) },
        wideJson: { step: () => firstRow([NODE, TUSK_BIN, 'list', 'file', 'wide@master:/dir', '--json'], env) },
      },
      { capMs: Infinity }, // each run is well under a second
    );
    const small1 = await measure([T(tusk('list', 'file', 'tiny@master:/dir'))], { env });
    const table = await measure([T(tusk('list', 'file', 'wide@master:/dir'))], { env });
    const json = await measure([T(tusk('list', 'file', 'wide@master:/dir', '--json'))], { env });

    const beyond = wide.ms - small.ms;
    const beyondJson = wideJson.ms - small.ms;
    const firstPass = beyond <= FIRST_ROW_BUDGET_MS && beyondJson <= FIRST_ROW_BUDGET_MS;
    rep.row({ label: 'node -e (two lines; process start only)', ms: node.ms, times: node.times, status: 'info' });
    rep.row({ label: 'tusk list file, 10 entries: first row (start-up)', ms: small.ms, times: small.times, base: true });
    rep.row({ label: `tusk list file, ${n.toLocaleString('en')} entries: first row`, ms: wide.ms, times: wide.times, status: status(beyond <= FIRST_ROW_BUDGET_MS, `≤ start-up + ${FIRST_ROW_BUDGET_MS} ms`) });
    rep.row({ label: `tusk list file --json, ${n.toLocaleString('en')} entries: first element`, ms: wideJson.ms, times: wideJson.times, status: status(beyondJson <= FIRST_ROW_BUDGET_MS, `≤ start-up + ${FIRST_ROW_BUDGET_MS} ms`) });
    rep.row({ label: 'tusk list file, 10 entries: whole (RSS of start-up)', ms: small1.ms, rssKiB: small1.rssKiB, status: 'info' });
    rep.row({ label: `tusk list file, ${n.toLocaleString('en')} entries: whole, to /dev/null`, ms: table.ms, rssKiB: table.rssKiB, status: status(table.rssKiB <= RSS_BUDGET_KIB, `peak RSS ≤ ${fmtRss(RSS_BUDGET_KIB)}`) });
    rep.row({ label: `tusk list file --json, ${n.toLocaleString('en')} entries: whole, to /dev/null`, ms: json.ms, rssKiB: json.rssKiB, status: status(json.rssKiB <= RSS_BUDGET_KIB, `peak RSS ≤ ${fmtRss(RSS_BUDGET_KIB)}`) });
    rep.note(`first row beyond start-up: table ${fmtMs(beyond)}, --json ${fmtMs(beyondJson)}; process start alone (node -e) ${fmtMs(node.ms)}`);
    rep.note(`peak RSS beyond a 10-entry listing's: table ${fmtRss(table.rssKiB - small1.rssKiB)}, --json ${fmtRss(json.rssKiB - small1.rssKiB)}`);
    rep.check('first row of a huge listing, beyond start-up', { actual: `${fmtMs(beyond)} (--json ${fmtMs(beyondJson)})`, target: `≤ ${FIRST_ROW_BUDGET_MS} ms (issue)`, pass: firstPass });
    rep.check('peak RSS of the whole huge listing', { actual: `${fmtRss(table.rssKiB)} (--json ${fmtRss(json.rssKiB)})`, target: `≤ ${fmtRss(RSS_BUDGET_KIB)} (issue)`, pass: table.rssKiB <= RSS_BUDGET_KIB && json.rssKiB <= RSS_BUDGET_KIB });
  },
};

// A datum's process sees only its own /pfs tree of the job's data: not the scratch directories
// of the datums running beside it, not the store (packs, metadata, input cache), and it cannot
// write into the store. Checked in both namespace modes, as root and as an unprivileged user;
// the path-rewrite fallback isolates nothing (docs/reliability.md, "What pipeline code can touch").
//
// Reproduction: parallelism 2; each datum ran
//   ls "$TUSK_PFS"/../../w-*/pfs/*; touch "$TUSK_PFS"/../../../../pwned
// and read the other datums' inputs and outputs, and wrote a file into .tusk/.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { namespacesWork, sandboxStore, USERS, writeSpec, type Mode } from './sandbox-helpers.js';

const MODES: Mode[] = namespacesWork() ? ['helper', 'namespace'] : [];
if (MODES.length === 0) console.warn('skipped: user namespaces are not available here, and the path-rewrite fallback gives no isolation');

// What the datum finds, one `key=value` line each, in /pfs/out/<datum>.txt.
const PROBE = [
  // the helper locks its mounts: not even root there can take the tmpfs off the store (the shell
  // namespace's root could, docs/reliability.md)
  'if [ "$TUSK_PFS_MODE_USED" = helper ]; then umount "$STORE" 2>/dev/null; umount -l "$STORE" 2>/dev/null; mount -o remount,rw,bind "$STORE" 2>/dev/null; fi',
  'n=$(basename "$in")',
  'mine=$(basename "$(dirname "$TUSK_PFS")")',
  'r=/pfs/out/$n.txt',
  'echo "datums=$(ls "$STORE/tmp/datums" | tr "\\n" " ")" >> $r',
  'echo "mine=$mine" >> $r',
  'echo "siblings=$(ls -d "$TUSK_PFS"/../../w-* | grep -v "/$mine\\$" | wc -l)" >> $r',
  'echo "store=$(ls "$STORE" | tr "\\n" " ")" >> $r',
  'if cat "$STORE/meta.db" > /dev/null 2>&1; then echo meta=read >> $r; else echo meta=hidden >> $r; fi',
  'if touch "$STORE/pwned-$n" 2>/dev/null || touch "$TUSK_PFS/../../pwned-$n" 2>/dev/null || touch "$TUSK_PFS/../pwned-$n" 2>/dev/null; then echo store-write=yes >> $r; else echo store-write=no >> $r; fi',
  'if echo x > "$TMPDIR/scratch" && [ -s "$TMPDIR/scratch" ]; then echo tmp=ok >> $r; fi',
  // the other way round: through another process's root (the runner's, a sibling's). Shell
  // builtins only (an open by redirection, a glob for the listing): a busy machine has hundreds of
  // processes, and a cat, an ls and a grep for each made this loop most of the test's CPU. `true`,
  // not `:`: a failed redirection of a special builtin ends dash
  'for p in /proc/[0-9]*; do if { true < "$p/root$STORE/meta.db"; } 2>/dev/null; then echo "via-proc=$p" >> $r; fi; for e in "$p"/root/pfs/in/*; do if [ -e "$e" ] && [ "${e##*/}" != "$n" ]; then echo "via-proc=$p" >> $r; fi; done; done',
  'cat /pfs/in/*/* >> $r',
  'exit 0',
].join('\n');

describe.concurrent.each(MODES)('TUSK_PFS_MODE=%s', (mode) => {
  it.each(USERS)('a datum (as $name) sees its own /pfs only and cannot write the store', async ({ uid }) => {
    const s = await sandboxStore(mode, uid);
    try {
      await s.ok(['create', 'repo', 'in']);
      for (const d of ['a', 'b', 'c', 'd']) await s.ok(['put', 'file', `in@master:/${d}/f`], { input: `input-${d}\n` });
      const spec = { pipeline: { name: 'probe' }, input: { pfs: { repo: 'in', glob: '/*' } }, parallelism_spec: { constant: 2 }, transform: { cmd: ['sh', '-c', PROBE], env: { STORE: s.store } } };
      await s.ok(['create', 'pipeline', '-f', writeSpec(s, 'probe.json', spec)]);
      for (const d of ['a', 'b', 'c', 'd']) {
        const report = (await s.ok(['get', 'file', `probe@master:/${d}.txt`])).stdout;
        const mine = /^mine=(.*)$/m.exec(report)![1];
        expect(report).toContain(`datums=${mine} \n`);
        expect(report).toContain('siblings=0\n');
        expect(report).toContain('store=tmp \n');
        expect(report).toContain('meta=hidden\n');
        expect(report).toContain('store-write=no\n');
        expect(report).toContain('tmp=ok\n');
        expect(report).not.toContain('via-proc=');
        // its own input, and no other datum's
        expect(report.endsWith(`input-${d}\n`)).toBe(true);
        expect(report.match(/input-/g)).toHaveLength(1);
      }
      const leftovers = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? leftovers(`${dir}/${e.name}`) : e.name.startsWith('pwned') ? [`${dir}/${e.name}`] : []));
      expect(leftovers(s.store)).toEqual([]);
      expect((await s.ok(['fsck', '--json'])).json().ok).toBe(true);
    } finally {
      s.cleanup();
    }
  });
});

// `npm run demo` (scripts/demo.js) must run to the end against the built CLI and show each step.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cli-helpers.js';

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
    delete env.TUSK_STORE;
    const child = spawn('npm', ['run', '--silent', 'demo', '--', '--cleanup'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('runs every step through the real CLI, echoing each command, and exits 0', async () => {
    const r = await runDemo();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    const dir = /the store and the example data are in (\S+)/.exec(out)?.[1];
    expect(dir).toBeDefined();
    // --cleanup removed the temp dir
    expect(fs.existsSync(dir!)).toBe(false);
    // headings, in order, and the commands echoed before their output
    const headings = [...out.matchAll(/^== (\d+)\. /gm)].map((m) => Number(m[1]));
    expect(headings).toEqual(headings.map((_, i) => i + 1));
    expect(headings.length).toBeGreaterThanOrEqual(10);
    for (const line of [
      '$ tusk init',
      `Initialized empty tusk store in ${dir}/.tusk`,
      "$ tusk create repo sales -d 'Daily sales, versioned'",
      "$ tusk put file -r sales@master -f data -m 'initial import'",
      '$ tusk list repo',
      '$ tusk list commit sales@master',
      '$ tusk diff file sales@master',
      '$ tusk get file sales@master:/data/products.csv',
      'A-200,gadget,12.00',
      '$ tusk inspect commit sales@master',
      '$ tusk create branch sales@v1 --head master^',
      '$ tusk fsck',
    ]) {
      expect(out).toContain(line);
    }
    // two commits; the second edits one file, adds one and deletes one
    expect(out).toMatch(/^sales\s+master\s+[0-9a-f]{32}\s.*final February, add March$/m);
    expect(out).toMatch(/^sales\s+master\s+[0-9a-f]{32}\s.*initial import$/m);
    expect(out).toMatch(/^-\s+\/data\/notes\.txt\s+file/m);
    expect(out).toMatch(/^-\s+\/data\/sales\/2024-02\.csv\s+file/m);
    expect(out).toMatch(/^\+\s+\/data\/sales\/2024-02\.csv\s+file/m);
    expect(out).toMatch(/^\+\s+\/data\/sales\/2024-03\.csv\s+file/m);
    // the branch at master^ still has the deleted file
    expect(out).toMatch(/^\/data\/notes\.txt\s+file\s+40B$/m);
    // the pipeline: three months first, then April alone (three skipped)
    expect(out).toMatch(/^monthly\s+[0-9a-f]{32}\s.*\s3 \+ 0 \/ 3\s.*success$/m);
    expect(out).toMatch(/^monthly\s+[0-9a-f]{32}\s.*\s1 \+ 3 \/ 4\s.*success$/m);
    expect(out).toMatch(/^\/2024-04\.txt\s+file/m);
    expect(out).toMatch(/^Provenance:\s+sales@master=[0-9a-f]{32}$/m);
    // the model: metrics of two versions side by side
    expect(out).toContain('"r2"');
    expect(out).toMatch(/^COMMIT\s+FINISHED\s+SET\s+ROWS\s+MSE\s+R2$/m);
    // the profile, and drift that fires on the shifted area (exit 1) but not on the other columns
    expect(out).toContain('$ tusk inspect profile houses@master:/houses.csv');
    expect(out).toMatch(/^area\s+number\s+200\s+0\s/m);
    expect(out).toContain('$ tusk drift houses@master^:/houses.csv houses@master');
    expect(out).toMatch(/^area\s+number\s+drift\s+KS p-value/m);
    expect(out).toMatch(/^rooms\s+number\s+ok\s/m);
    expect(out).toMatch(/^age\s+number\s+ok\s/m);
    expect(out).toContain('Error: drift in ');
    expect(out).toContain('(exit status 1)');
    // windows by commit time: two days, then a late reading redoes May 1st alone
    expect(out).toContain("$ tusk start commit readings@master --time 2024-05-01T20:00:00Z");
    expect(out).toMatch(/^daily\s+[0-9a-f]{32}\s.*\s2 \+ 0 \/ 2\s.*success$/m);
    expect(out).toMatch(/^daily\s+[0-9a-f]{32}\s.*\s1 \+ 1 \/ 2\s.*success$/m);
    expect(out).toMatch(/^ID\s+WINDOW\s+FILES\s+STATUS\s+TIME\s+WORKER$/m);
    expect(out).toMatch(/^[0-9a-f]{64} \[2024-05-01T00:00:00\.000Z, 2024-05-02T00:00:00\.000Z\) readings@master: 2 files in 2 commits\s+success/m);
    expect(out).toMatch(/^readings=2 total=7$/m);
    expect(out).toMatch(/^readings=3 total=14$/m);
    expect(out).toMatch(/^No errors found: 6 repos, \d+ commits/m);
    // the demo runs some forty commands and three pipelines: a guard against a hang, not a timing
  }, 240_000);
});

// tusk runs its built JavaScript whatever NODE_ENV says. Under NODE_ENV=development or test oclif
// would look for each command's TypeScript source and try to register a transpiler for it (tsx,
// ts-node, reading tsconfig.json) at every start: 786 against 327 ms of CPU for `tusk list repo`,
// and every command a test runner starts has NODE_ENV=test. bin/run.js turns that lookup off.
import { describe, expect, it } from 'vitest';
import { expectOk, withStoreDir } from './cli-helpers.js';

describe('NODE_ENV', () => {
  it.each(['development', 'test'])('=%s: no TypeScript source lookup, no transpiler, the same answer', async (mode) => {
    const s = await withStoreDir();
    try {
      await s.json(['create', 'repo', 'r']);
      const env = { NODE_ENV: mode, DEBUG: 'oclif:config:ts-path' };
      const r = expectOk(await s.tusk(['list', 'repo', '--json'], { env }));
      expect(r.json<{ name: string }[]>().map((x) => x.name)).toEqual(['r']);
      // oclif's ts-path debug lines: only the one saying the lookup is off
      const lines = r.stderr.split('\n').filter((l) => l.includes('oclif:config:ts-path'));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).toMatch(/Skipping typescript path lookup .* enableAutoTranspile is explicitly set to false/);
      expect(r.stderr).not.toMatch(/tsconfig|registering|tsx|ts-node/);
    } finally {
      s.cleanup();
    }
  });
});

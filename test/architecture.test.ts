// The import rule for the layers (.dependency-cruiser.cjs, docs/architecture.md): the real tree has
// no breach beyond the known-violations baseline, and a new breach of each kind is reported.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const depcruiseBin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = '.dependency-cruiser.cjs';
const KNOWN = '.dependency-cruiser-known-violations.json';

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs the same check as `npm run lint:deps` in `cwd` and returns the violations it does not ignore. */
async function newViolations(cwd: string, targets: string[]): Promise<Violation[]> {
  const args = [depcruiseBin, ...targets, '--config', CONFIG, '--ignore-known', KNOWN, '--output-type', 'json'];
  // depcruise exits with the number of errors; the JSON on stdout is the answer either way.
  const stdout = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (e: { stdout?: string; stderr?: string }) => {
      if (!e.stdout) throw new Error(`depcruise gave no result: ${e.stderr ?? String(e)}`);
      return e.stdout;
    },
  );
  const result = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return result.summary.violations.filter((v) => v.rule.severity !== 'ignore');
}

describe('the import rule for the layers', () => {
  it('finds no breach in src/ beyond the known-violations baseline', async () => {
    expect(await newViolations(root, ['src'])).toEqual([]);
  });

  // The baseline is empty: a breach is fixed in the code, never added to the list.
  it('has no known breach left in the baseline', () => {
    expect(JSON.parse(fs.readFileSync(path.join(root, KNOWN), 'utf8'))).toEqual([]);
  });

  // An import check cannot see a property reach: a command handed an object with the store's
  // internals on it could use them without importing anything. Commands get services only.
  it('no command reaches the store core, the store handle or the project ports through an object', () => {
    const files = ['src/commands', 'src/cli'].flatMap((d) => (fs.readdirSync(path.join(root, d), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(d, f)));
    expect(files.length).toBeGreaterThan(50);
    const reaches = files.filter((f) => /\.core\b|\.handle\b|forProject\(|forVerify\(/.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(reaches).toEqual([]);
  });

  describe('in a copy of the tree with new breaches added', () => {
    const copy = tempDir('tusk-arch-');
    afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

    it('reports each one, under the rule it breaks', async () => {
      for (const f of [CONFIG, KNOWN, 'tsconfig.json', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(copy, f));
      fs.cpSync(path.join(root, 'src'), path.join(copy, 'src'), { recursive: true });
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
      const probes: Record<string, string> = {
        'src/store/probe-up.ts': "import '../commands/init.js';\n",
        'src/probe-shared.ts': "import './store/store.js';\n",
        'src/pipeline/probe-up.ts': "import '../ml/tf.js';\n",
        'src/ml/probe-store.ts': "import '../store/store.js';\n",
        'src/commands/probe-internal.ts': "import '../store/pack-writer.js';\n",
        'src/commands/probe-service.ts': "import '../pipeline/runner.js';\n",
        'src/cli/probe-facade.ts': "import '../store/store.js';\n",
        'src/console/probe-root.ts': "import '../app/tusk.js';\n",
        'src/app/probe-internal.ts': "import '../store/pack-writer.js';\n",
        'src/project/probe-internal.ts': "import type { PageReader } from '../store/tree.js';\nexport type R = PageReader;\n",
        // the project layer works through its port: the handle and the store are out of its reach
        'src/project/probe-handle.ts': "import type { StoreHandle } from '../store/store-handle.js';\nexport type H = StoreHandle;\n",
        'src/project/probe-store.ts': "import { openStore } from '../store/store.js';\nexport const o = openStore;\n",
        // verify too: it re-runs pipelines through its own port, never through the handle
        'src/project/verify.ts': `${fs.readFileSync(path.join(root, 'src/project/verify.ts'), 'utf8')}\nimport type { StoreHandle } from '../store/store-handle.js';\nexport type H = StoreHandle;\n`,
        // a contract's records may be named above the store, its values may not
        'src/pipeline/probe-contract-type.ts': "import type { JobRow } from '../store/job-records.js';\nexport type J = JobRow;\n",
        'src/pipeline/probe-contract-value.ts': "import type { JobRow } from '../store/job-records.js';\nimport { TERMINAL_JOB_STATES } from '../store/job-records.js';\nexport const j: JobRow[] = [];\nexport const t = TERMINAL_JOB_STATES;\n",
        'src/console/probe-contract-impl.ts': "import { SqliteJobRecords } from '../store/job-records.js';\nexport const c = SqliteJobRecords;\n",
        'src/ui/probe-command.ts': "import '../cli/refs.js';\n",
        'src/ui/probe-service.ts': "import '../project/views.js';\n",
        'src/ui/probe-cycle-a.ts': "import './probe-cycle-b.js';\n",
        'src/ui/probe-cycle-b.ts': "import './probe-cycle-a.js';\n",
        'src/pipeline/probe-dev.ts': "import 'vitest';\n",
      };
      for (const [file, text] of Object.entries(probes)) fs.writeFileSync(path.join(copy, file), text);

      const violations = await newViolations(copy, ['src']);
      const found = violations
        .filter((v) => v.from in probes)
        // A package resolves through the node_modules link to wherever it really lives.
        .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/([^/]+)\/.*$/, 'npm:$1')}`)
        .sort();
      expect(found).toEqual(
        [
          'store-imports-above: src/store/probe-up.ts -> src/commands/init.ts',
          'service-imports-commands: src/store/probe-up.ts -> src/commands/init.ts',
          'shared-imports-layers: src/probe-shared.ts -> src/store/store.ts',
          'pipeline-imports-above: src/pipeline/probe-up.ts -> src/ml/tf.ts',
          'ml-imports-store: src/ml/probe-store.ts -> src/store/store.ts',
          'store-internals: src/commands/probe-internal.ts -> src/store/pack-writer.ts',
          'commands-import-services: src/commands/probe-internal.ts -> src/store/pack-writer.ts',
          'commands-import-services: src/commands/probe-service.ts -> src/pipeline/runner.ts',
          'commands-import-services: src/cli/probe-facade.ts -> src/store/store.ts',
          'composition-root-imported-by-commands: src/console/probe-root.ts -> src/app/tusk.ts',
          'store-internals: src/project/probe-internal.ts -> src/store/tree.ts',
          'project-through-ports: src/project/probe-internal.ts -> src/store/tree.ts',
          'project-through-ports: src/project/probe-handle.ts -> src/store/store-handle.ts',
          'project-through-ports: src/project/probe-store.ts -> src/store/store.ts',
          'project-through-ports: src/project/verify.ts -> src/store/store-handle.ts',
          'metadata-contracts-types-only: src/pipeline/probe-contract-value.ts -> src/store/job-records.ts',
          'metadata-contracts-types-only: src/console/probe-contract-impl.ts -> src/store/job-records.ts',
          'service-imports-commands: src/ui/probe-command.ts -> src/cli/refs.ts',
          'ui-imports-services: src/ui/probe-service.ts -> src/project/views.ts',
          'no-circular: src/ui/probe-cycle-a.ts -> src/ui/probe-cycle-b.ts',
          'src-imports-dev-dependency: src/pipeline/probe-dev.ts -> npm:vitest',
        ].sort(),
      );
      // the composition root may import store internals: its probe breaks no rule
      expect(found.filter((f) => f.includes('src/app/'))).toEqual(['composition-root-imported-by-commands: src/console/probe-root.ts -> src/app/tusk.ts']);
      // src/ml already imports src/pipeline, so the probe's import back makes the two folders a cycle.
      const folderCycles = violations.filter((v) => v.type === 'cycle').map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
      expect(folderCycles).toContain('no-circular-layers: src/pipeline -> src/ml');
    });
  });
});

// A promise nobody awaits compiles under strict TypeScript; the contracts being asynchronous makes
// one easy to leave behind when a method turns async. The check runs on the real tree, and is
// shown to see one in a small project made for it.
describe('promises nobody waits for', () => {
  const checker = path.join(root, 'scripts', 'check-promises.mjs');
  const run = (cwd: string) =>
    promisify(execFile)(process.execPath, [checker, path.join(cwd, 'tsconfig.json')], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );

  it('finds none in src/ and test/', async () => {
    const r = await run(root);
    expect(r.out).toContain('0 promises not awaited');
    expect(r.code).toBe(0);
  }, 120_000);

  it('reports a call made without await, a promise tested for truth and one handed to expect', async () => {
    const dir = tempDir('tusk-promises-');
    try {
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true, types: [] }, files: ['probe.ts'] }));
      fs.writeFileSync(
        path.join(dir, 'probe.ts'),
        [
          'async function getRepo(name: string): Promise<string | undefined> { return name; }',
          'declare function expect(v: unknown): { toBe(x: unknown): void };',
          'export async function probe(): Promise<void> {',
          "  getRepo('a');",
          "  if (getRepo('b')) return;",
          "  expect(getRepo('c')).toBe('c');",
          "  await getRepo('fine');",
          '}',
          '',
        ].join('\n'),
      );
      const r = await run(dir);
      expect(r.code).toBe(1);
      for (const line of [4, 5, 6]) expect(r.out).toContain(`probe.ts:${line}`);
      expect(r.out).not.toContain('probe.ts:7');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

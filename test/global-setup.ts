// vitest globalSetup: the CLI tests spawn bin/run.js, which runs dist/. Build once, before any test
// file starts, and only when dist/ is missing or older than src/ (`npm test` builds first, so this
// is normally a no-op; it matters for `npx vitest run test/cli/...` after editing src/).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The build writes dist/ with tsc and then oclif.manifest.json: the manifest's time is the build's. */
function builtAt(): number {
  const manifest = path.join(root, 'oclif.manifest.json');
  if (!fs.existsSync(path.join(root, 'dist', 'commands')) || !fs.existsSync(manifest)) return 0;
  return fs.statSync(manifest).mtimeMs;
}

export default function setup(): void {
  // An escape hatch for a tree that does not build right now (say, someone else's work in
  // progress): run the tests against the dist/ that is there.
  if (process.env.TUSK_SKIP_BUILD) return;
  const built = builtAt();
  const sources = Math.max(newestMtime(path.join(root, 'src')), fs.statSync(path.join(root, 'package.json')).mtimeMs);
  if (built >= sources) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  try {
    execFileSync(npm, ['run', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      'npm run build failed, and the CLI tests run the built dist/ (set TUSK_SKIP_BUILD=1 to use the dist/ that is there):\n' +
        `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`,
    );
  }
}

// The hook fast path, run as a script by the installed git hooks before the CLI:
//   node dist/project/hook-fast.js HOOK [PROJECT_DIR]
// Exit 0: nothing changed since the last pre-commit, the hook is done. Any other exit (including a
// crash) sends the hook on to `tusk hooks run`, which decides properly. Loading oclif, SQLite and
// yaml costs ~200 ms; this costs node's startup plus one stat per tracked file.
import * as path from 'node:path';
import { findGitDir, isNoop } from './hook-state.js';

const started = performance.now();
const [hook = '', projectDir = '.'] = process.argv.slice(2);
let noop = false;
try {
  const gitDir = findGitDir(path.resolve(projectDir));
  noop = gitDir !== undefined && isNoop(hook, gitDir);
} catch {
  noop = false;
}
if (noop && process.env.TUSK_HOOK_DEBUG) process.stderr.write(`tusk ${hook}: nothing changed (${(performance.now() - started).toFixed(1)} ms)\n`);
process.exitCode = noop ? 0 : 1;

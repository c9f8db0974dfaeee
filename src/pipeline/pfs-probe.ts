// Which way user code sees `/pfs` here (transform.ts), found by trying the sandbox once: the
// probe runs the compiled helper on a throwaway tree, else `unshare`, and falls back to
// rewriting paths. A helper answer is remembered in the store (tmp/pfs-mode.json) under what
// decides it, so that a later process need not run the probe before its first datum: only the
// strictest mode is remembered, and the first server a job starts with it checks it again.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How user code sees `/pfs`: through the compiled helper (a per-job server that forks each datum
 * into its own mount namespace), through a shell script doing the same with `unshare` (no
 * compiler at install time; ~25 execs per datum), or, where user namespaces are unavailable, by
 * rewriting `/pfs` in cmd, stdin and env.
 */
export type PfsMode = 'helper' | 'namespace' | 'rewrite';

/** The compiled helper, dist/native/tusk-ns; this module (src/pipeline, dist/pipeline, dist/bundle) sits two levels below the package root. */
export const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/native/tusk-ns');

/** The file in a store's `tmp/` that holds the remembered answer. */
export const PFS_MODE_FILE = 'pfs-mode.json';

export interface FoundMode {
  mode: PfsMode;
  /**
   * true: taken from an answer remembered by an earlier process, not probed now. Its first
   * helper server is its check: one that does not start means the answer is stale.
   */
  remembered: boolean;
}

/** Answers probed in this process, per helper binary. */
const probed = new Map<string, PfsMode>();

/**
 * Kernel settings that decide whether an unprivileged user namespace can be made (Debian's
 * switch, the namespace limits, Ubuntu's AppArmor restriction).
 */
const SYSCTLS = ['kernel/unprivileged_userns_clone', 'user/max_user_namespaces', 'user/max_mnt_namespaces', 'kernel/apparmor_restrict_unprivileged_userns'];

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function linkOr(file: string): string | null {
  try {
    return fs.readlinkSync(file);
  } catch {
    return null;
  }
}

/**
 * What the probe's answer depends on: the helper binary itself, the kernel, who runs it, the
 * namespaces it starts in (another container, another mount table), the seccomp filter, and the
 * sysctls above. Undefined where there is no helper (nothing worth remembering then).
 */
export function probeKey(helper: string): string | undefined {
  const st = fs.statSync(helper, { throwIfNoEntry: false });
  if (!st?.isFile()) return undefined;
  const status = readOr('/proc/self/status') ?? '';
  return JSON.stringify({
    helper: [helper, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs],
    kernel: [os.release(), os.version()],
    ids: [process.getuid?.(), process.getgid?.(), process.geteuid?.()],
    ns: [linkOr('/proc/self/ns/user'), linkOr('/proc/self/ns/mnt')],
    seccomp: /^Seccomp:\s*(\d+)/m.exec(status)?.[1] ?? null,
    sysctl: SYSCTLS.map((k) => readOr(`/proc/sys/${k}`)),
  });
}

/** Try the sandbox once: the helper on a throwaway tree, else `unshare`; else paths are rewritten. */
function probe(helper: string): PfsMode {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-ns-probe-'));
  try {
    fs.mkdirSync(path.join(scratch, 'pfs', 'out'), { recursive: true });
    if (fs.existsSync(helper) && spawnSync(helper, [path.join(scratch, 'pfs'), '/', scratch, '--', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0) return 'helper';
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp'], { stdio: 'ignore', timeout: 5000 });
    return r.status === 0 ? 'namespace' : 'rewrite';
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function remember(answerDir: string, key: string): void {
  const file = path.join(answerDir, PFS_MODE_FILE);
  const tmp = `${file}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify({ key, mode: 'helper' }));
    fs.renameSync(tmp, file);
  } catch {
    // not remembered: the next process probes
    fs.rmSync(tmp, { force: true });
  }
}

function rememberedKey(answerDir: string): string | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(answerDir, PFS_MODE_FILE), 'utf8')) as { key?: unknown; mode?: unknown };
    return j.mode === 'helper' && typeof j.key === 'string' ? j.key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The mode for this process. TUSK_PFS_MODE=helper|namespace|rewrite forces one; otherwise the
 * probe decides, once per process, or, with `answerDir`, a helper answer an earlier probe left
 * there under the same key. Only a helper answer is remembered: a stale one can only make a job
 * try the strictest sandbox, whose server then fails to start (see forgetPfsMode); the weaker
 * modes are probed each time, so no file can loosen the sandbox.
 */
export function findPfsMode(answerDir?: string, helper: string = HELPER): FoundMode {
  const forced = process.env.TUSK_PFS_MODE;
  if (forced === 'rewrite' || forced === 'namespace' || forced === 'helper') return { mode: forced, remembered: false };
  if (process.platform !== 'linux') return { mode: 'rewrite', remembered: false };
  const known = probed.get(helper);
  if (known) return { mode: known, remembered: false };
  const key = answerDir ? probeKey(helper) : undefined;
  if (key && rememberedKey(answerDir!) === key) return { mode: 'helper', remembered: true };
  const mode = probe(helper);
  probed.set(helper, mode);
  if (key && mode === 'helper') remember(answerDir!, key);
  return { mode, remembered: false };
}

/**
 * A remembered helper answer proved wrong (its server did not start): drop it and probe now.
 * The new answer is remembered only if it is a helper one again.
 */
export function forgetPfsMode(answerDir: string, helper: string = HELPER): PfsMode {
  fs.rmSync(path.join(answerDir, PFS_MODE_FILE), { force: true });
  probed.delete(helper);
  return findPfsMode(answerDir, helper).mode;
}

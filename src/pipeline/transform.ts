// Transforms: what runs once per datum. The executor only knows this interface; a child process
// is one kind, the in-process TensorFlow.js trainers (src/ml) plug in as another.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransformSpec } from './spec-types.js';

/** Everything a transform needs for one attempt at one datum. */
export interface DatumContext {
  pipeline: string;
  jobId: string;
  datumId: string;
  /** `<scratch>/pfs`: holds one dir per input name and an empty `out/` */
  pfsDir: string;
  tmpDir: string;
  /** cwd for the user code */
  workingDir: string;
  /** Pachyderm's env vars for this datum (input paths given as `/pfs/...`) */
  env: Record<string, string>;
  timeoutMs?: number;
  signal: AbortSignal;
  log(stream: 'stdout' | 'stderr' | 'system', message: string): void;
}

export interface TransformResult {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** one line saying why it failed, for the datum's error */
  reason?: string;
}

export interface Transform {
  run(ctx: DatumContext, which: 'main' | 'error'): Promise<TransformResult>;
}

/**
 * How user code sees `/pfs`: through the compiled helper (one exec per datum), through a shell
 * script doing the same with `unshare` (no compiler at install time; ~25 execs per datum), or,
 * where user namespaces are unavailable, by rewriting `/pfs` in cmd, stdin and env.
 */
export type PfsMode = 'helper' | 'namespace' | 'rewrite';

const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'native', 'tusk-ns');

let probed: PfsMode | undefined;

/** Probed once per process; TUSK_PFS_MODE=helper|namespace|rewrite forces one. */
export function pfsMode(): PfsMode {
  if (probed) return probed;
  const forced = process.env.TUSK_PFS_MODE;
  if (forced === 'rewrite' || forced === 'namespace' || forced === 'helper') return (probed = forced);
  if (process.platform !== 'linux') return (probed = 'rewrite');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-ns-probe-'));
  try {
    fs.mkdirSync(path.join(scratch, 'pfs'));
    if (fs.existsSync(HELPER) && spawnSync(HELPER, [path.join(scratch, 'pfs'), '/', scratch, '--', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0) return (probed = 'helper');
    const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', 'mount -t tmpfs tmpfs /mnt 2>/dev/null || mount -t tmpfs tmpfs /tmp'], { stdio: 'ignore', timeout: 5000 });
    return (probed = r.status === 0 ? 'namespace' : 'rewrite');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// Runs inside the new namespace: a tmpfs root with every host top-level directory bound in, the
// datum's scratch at /pfs, then chroot. User code then sees exactly /pfs/<input> and /pfs/out.
const NAMESPACE_SCRIPT = `
set -e
root=$(mktemp -d "$TUSK_NS_TMP/root.XXXXXX")
mount -t tmpfs tusk-root "$root"
for d in /*; do
  n=\${d#/}
  case "$n" in pfs|proc) continue;; esac
  if [ -d "$d" ] && [ ! -L "$d" ]; then mkdir -p "$root/$n"; mount --rbind "$d" "$root/$n"; 
  elif [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root/$n"; fi
done
mkdir -p "$root/pfs" "$root/proc"
mount --rbind "$TUSK_NS_PFS" "$root/pfs"
mount --rbind /proc "$root/proc" 2>/dev/null || true
cd "$root"
exec chroot "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$TUSK_NS_CWD" "$@"
`;

function rewritePfs(s: string, pfsDir: string): string {
  return s.replace(/(^|[^\w.-])\/pfs(?=\/|$|[^\w.-])/g, (_m, pre: string) => `${pre}${pfsDir}`);
}

/** A transform that spawns `cmd` with `stdin` piped in, as Pachyderm's worker does. */
export class ChildProcessTransform implements Transform {
  constructor(private readonly spec: TransformSpec, private readonly mode: PfsMode = pfsMode()) {}

  async run(ctx: DatumContext, which: 'main' | 'error'): Promise<TransformResult> {
    let cmd = which === 'main' ? this.spec.cmd : (this.spec.err_cmd ?? []);
    let stdinLines = which === 'main' ? this.spec.stdin : this.spec.err_stdin;
    if (cmd.length === 0) return { ok: false, exitCode: null, signal: null, timedOut: false, reason: 'invalid pipeline transform, no command specified' };
    let env: Record<string, string> = { ...process.env as Record<string, string>, ...ctx.env, ...this.spec.env, TMPDIR: ctx.tmpDir, TUSK_PFS_MODE_USED: this.mode };
    let argv0: string;
    let args: string[];
    if (this.mode === 'helper') {
      argv0 = HELPER;
      args = [ctx.pfsDir, ctx.workingDir, ctx.tmpDir, '--', ...cmd];
    } else if (this.mode === 'namespace') {
      argv0 = 'unshare';
      args = ['--user', '--map-root-user', '--mount', '--fork', 'sh', '-c', NAMESPACE_SCRIPT, 'tusk-ns', ...cmd];
      env = { ...env, TUSK_NS_PFS: ctx.pfsDir, TUSK_NS_CWD: ctx.workingDir, TUSK_NS_TMP: ctx.tmpDir };
    } else {
      // No namespaces: point `/pfs` at the scratch dir in the command, stdin and env vars. Paths
      // hard-coded inside scripts cannot be rewritten; the log says so once per datum.
      cmd = cmd.map((a) => rewritePfs(a, ctx.pfsDir));
      stdinLines = stdinLines?.map((l) => rewritePfs(l, ctx.pfsDir));
      for (const [k, v] of Object.entries(ctx.env)) env[k] = rewritePfs(v, ctx.pfsDir);
      ctx.log('system', `namespaces unavailable: /pfs rewritten to ${ctx.pfsDir} in cmd, stdin and env`);
      argv0 = cmd[0]!;
      args = cmd.slice(1);
    }
    return new Promise<TransformResult>((resolve) => {
      let settled = false;
      let timedOut = false;
      const started = Date.now();
      const child = spawn(argv0, args, { cwd: this.mode === 'rewrite' ? ctx.workingDir : ctx.tmpDir, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const killTree = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const timer = ctx.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            ctx.log('system', `datum timed out after ${ctx.timeoutMs} ms; killing it`);
            killTree();
          }, ctx.timeoutMs)
        : undefined;
      const onAbort = () => killTree();
      ctx.signal.addEventListener('abort', onAbort);
      const lines = (stream: 'stdout' | 'stderr') => {
        let buf = '';
        return (data: Buffer) => {
          buf += data.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            ctx.log(stream, buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
          if (buf.length > 65536) {
            ctx.log(stream, buf);
            buf = '';
          }
        };
      };
      child.stdout.on('data', lines('stdout'));
      child.stderr.on('data', lines('stderr'));
      // user code that never reads stdin must not fail on EPIPE (Pachyderm ignores it too)
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdinLines && stdinLines.length > 0 ? stdinLines.join('\n') + '\n' : undefined);
      const done = (r: TransformResult) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        const secs = ((Date.now() - started) / 1000).toFixed(2);
        ctx.log('system', r.ok ? `finished running user code after ${secs}s` : `errored running user code after ${secs}s: ${r.reason}`);
        resolve(r);
      };
      child.on('error', (err) =>
        done({ ok: false, exitCode: null, signal: null, timedOut, reason: `cannot start ${cmd[0]}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : err.message}` }),
      );
      child.on('close', (code, signal) => {
        const accepted = code === 0 || (code !== null && this.spec.accept_return_code.includes(code));
        if (accepted && !timedOut) done({ ok: true, exitCode: code, signal: null, timedOut });
        else
          done({
            ok: false,
            exitCode: code,
            signal,
            timedOut,
            reason: timedOut ? `timed out after ${ctx.timeoutMs} ms` : ctx.signal.aborted ? 'job stopped' : signal ? `killed by ${signal}` : `exit status ${code}`,
          });
      });
      ctx.log('system', 'beginning to run user code');
    });
  }
}

/**
 * A job's log: one append-only JSON-lines file, `{ts, datum, stream, message}` per line. One
 * file per job rather than per datum: 10,000 datums must not cost 10,000 file creations.
 */
export function jobLogger(file: string): { forDatum(datum: string): DatumContext['log']; close(): void } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'a');
  return {
    forDatum: (datum) => (stream, message) => fs.writeSync(fd, JSON.stringify({ ts: new Date().toISOString(), datum, stream, message }) + '\n'),
    close: () => fs.closeSync(fd),
  };
}

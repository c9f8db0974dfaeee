// Transforms: what runs once per datum. The executor only knows this interface; a child process
// is one kind, the in-process TensorFlow.js trainers (src/ml) plug in as another.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setLongTimeout, type LongTimer } from '../timers.js';
import { ExecServer } from './exec-server.js';
import { HELPER, findPfsMode, forgetPfsMode, type FoundMode, type PfsMode } from './pfs-probe.js';
import type { ContentId } from '../store/hash.js';
import type { LogAppender } from '../store/store-handle.js';
import type { PreviousRun } from './previous-run.js';
import type { TransformSpec } from './spec-types.js';

// a transform names the contents it appends to by their ids (DatumContext.appendOutput)
export type { ContentId };

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
  /**
   * The store directory (a real path, holding `pfsDir`): where namespaces work, user code sees
   * none of it but its own scratch directory.
   */
  hideDir?: string;
  /** Pachyderm's env vars for this datum (input paths given as `/pfs/...`) */
  env: Record<string, string>;
  timeoutMs?: number;
  signal: AbortSignal;
  log(stream: 'stdout' | 'stderr' | 'system', message: string): void;
  /**
   * The runner's worker this attempt belongs to. A transform that `queues` runs one lane's
   * attempts one at a time, in the order run() was called; different lanes' at once.
   */
  lane: number;
  /**
   * This datum's last successful run in the job before, with how each input changed since;
   * undefined when there is none to build on. Computed when called (it may read chunks).
   */
  previous?: () => Promise<PreviousRun | undefined>;
  /**
   * Store the output file at `path` (below `/pfs/out`, where nothing may be written at that
   * path) as the content `base` followed by the bytes of the local file `tail`: an output that
   * only grew is neither written out whole nor chunked whole again.
   */
  appendOutput?: (path: string, base: ContentId, tail: string) => void;
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
  /**
   * true: the transform cannot change its input files (a read-only /pfs, or code that only
   * reads), so they may be hard links into the store's input cache, shared with other datums
   * and pipelines. Otherwise each datum gets copies of its own.
   */
  readonly protectsInputs: boolean;
  /**
   * true: a worker may call run() for its next datum while the current one runs (same lane); the
   * transform starts it once the current one ends, so the gap between them is not the runner's.
   */
  readonly queues?: boolean;
  /** Called once when the job's datum loop ends: release what run() kept between datums. */
  close?(): void;
  /**
   * Awaited by each worker before it lays out its first datum: protectsInputs is settled once
   * it resolves (`hideDir` as in DatumContext).
   */
  ready?(hideDir: string): Promise<void>;
}

export type { PfsMode };

/** The mode for this process (probed once; TUSK_PFS_MODE=helper|namespace|rewrite forces one). */
export function pfsMode(): PfsMode {
  return findPfsMode().mode;
}

// Runs inside the new namespace: a tmpfs root with every host top-level directory bound in, the
// datum's scratch at /pfs (read-only but for /pfs/out), the store covered by an empty read-only
// tmpfs showing only this datum's scratch (as tusk-ns's setup_pfs does), then chroot. User code
// then sees exactly /pfs/<input> and /pfs/out of the job's data.
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
mount -o remount,bind,ro "$root/pfs"
mount --bind "$TUSK_NS_PFS/out" "$root/pfs/out"
mount --rbind /proc "$root/proc" 2>/dev/null || true
if [ -n "$TUSK_NS_HIDE" ]; then
  s=\${TUSK_NS_PFS%/pfs}
  exec 9<"$s/tmp"
  mount -t tmpfs -o mode=0755,size=64k tusk-hidden "$root$TUSK_NS_HIDE"
  mkdir -p "$root$s/tmp" "$root$s/pfs"
  mount --no-canonicalize --bind /proc/self/fd/9 "$root$s/tmp"
  exec 9<&-
  mount --rbind "$root/pfs" "$root$s/pfs"
  mount -o remount,bind,ro "$root$TUSK_NS_HIDE"
fi
cd "$root"
exec chroot "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$TUSK_NS_CWD" "$@"
`;

function rewritePfs(s: string, pfsDir: string): string {
  return s.replace(/(^|[^\w.-])\/pfs(?=\/|$|[^\w.-])/g, (_m, pre: string) => `${pre}${pfsDir}`);
}

/** What one attempt runs, after `/pfs` handling: argv, env (on top of the base env) and stdin text. */
interface Launch {
  argv: string[];
  env: Record<string, string>;
  stdin: string | undefined;
}

/** Splits a process's output into lines for the datum's log. */
function lineSplitter(log: DatumContext['log'], stream: 'stdout' | 'stderr'): { push(data: Buffer): void; flush(): string } {
  let buf = '';
  let last = '';
  return {
    push(data) {
      buf += data.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        last = buf.slice(0, i);
        log(stream, last);
        buf = buf.slice(i + 1);
      }
      if (buf.length > 65536) {
        log(stream, buf);
        buf = '';
      }
    },
    flush() {
      if (buf) log(stream, (last = buf));
      buf = '';
      return last;
    },
  };
}

/**
 * Kills a datum's process group on timeout or when the job is stopped. `pid()` is read when it
 * fires: the process may not have been started yet (then `started` kills it once it is). The
 * timeout counts from `start()`: a queued command's wait for the one before it is not its time.
 */
function guard(ctx: DatumContext, pid: () => number | undefined): { start(): void; killTree(): void; timedOut(): boolean; dispose(): void } {
  let timedOut = false;
  let timer: LongTimer | undefined;
  const killTree = () => {
    try {
      const p = pid();
      if (p) process.kill(-p, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  ctx.signal.addEventListener('abort', killTree);
  return {
    start: () => {
      if (ctx.timeoutMs && !timer)
        timer = setLongTimeout(() => {
          timedOut = true;
          ctx.log('system', `datum timed out after ${ctx.timeoutMs} ms; killing it`);
          killTree();
        }, ctx.timeoutMs);
    },
    killTree,
    timedOut: () => timedOut,
    dispose: () => {
      timer?.cancel();
      ctx.signal.removeEventListener('abort', killTree);
    },
  };
}

/** A running `tusk-ns --serve` and the directory it roots datums in. */
interface Server {
  server: ExecServer;
  dir: string;
}

/** A transform that runs `cmd` with `stdin` piped in, as Pachyderm's worker does. */
export class ChildProcessTransform implements Transform {
  /** the process env plus the spec's: the same for every datum, so built (and sent) once */
  private readonly baseEnv: Record<string, string>;
  /** a serial server per lane, started on its first attempt */
  private readonly lanes = new Map<number, Promise<Server | undefined>>();
  /** without a server, the end of each lane's last attempt: the next one starts after it */
  private readonly laneTails = new Map<number, Promise<unknown>>();
  private unavailable = false;
  /** one lane's attempts run one at a time, in order, on every path (its server queues them) */
  readonly queues = true;
  /**
   * The helper's namespace gives user code a read-only /pfs whose mounts the kernel locks (not
   * even root there can remount them). The shell namespace runs user code as root in the
   * namespace that made the mounts, which may remount them; rewriting paths protects nothing.
   * Those two get private copies.
   */
  protectsInputs = false;
  private mode: PfsMode = 'rewrite';
  /** the check of a remembered mode (ready), made once */
  private checked: Promise<void> | undefined;

  /**
   * `found`: a mode, or what findPfsMode found with `answerDir` (a remembered answer is checked
   * by ready() before any input is laid out). `helper`: the compiled helper to run.
   */
  constructor(
    private readonly spec: TransformSpec,
    found: PfsMode | FoundMode = pfsMode(),
    private readonly helper: string = HELPER,
    private readonly answerDir?: string,
  ) {
    this.baseEnv = { ...(process.env as Record<string, string>), ...spec.env };
    this.setMode(typeof found === 'string' ? found : found.mode);
    if (typeof found === 'string' || !found.remembered || !answerDir) this.checked = Promise.resolve();
  }

  private setMode(mode: PfsMode): void {
    this.mode = mode;
    this.baseEnv.TUSK_PFS_MODE_USED = mode;
    this.protectsInputs = mode === 'helper';
  }

  /** The mode user code runs in (settled once ready() has resolved). */
  get pfsMode(): PfsMode {
    return this.mode;
  }

  /**
   * A mode remembered by an earlier process is checked by starting the first worker's server
   * (which the job needs anyway) before any input is laid out: a server that does not start
   * means the answer is stale (a kernel setting, a container, a seccomp filter that the key did
   * not see), so it is dropped and the sandbox probed now, and the job goes on in the mode found.
   * No input has been laid out for the old mode, so none is shared with code that could write it.
   */
  ready(hideDir: string): Promise<void> {
    this.checked ??= (async () => {
      if (await this.laneServer(0, hideDir)) return;
      this.lanes.clear();
      this.unavailable = false;
      this.setMode(forgetPfsMode(this.answerDir!, this.helper));
    })();
    return this.checked;
  }

  async run(ctx: DatumContext, which: 'main' | 'error'): Promise<TransformResult> {
    const cmd = which === 'main' ? this.spec.cmd : (this.spec.err_cmd ?? []);
    const stdinLines = which === 'main' ? this.spec.stdin : this.spec.err_stdin;
    if (cmd.length === 0) return { ok: false, exitCode: null, signal: null, timedOut: false, reason: 'invalid pipeline transform, no command specified' };
    const launch: Launch = {
      argv: [...cmd],
      // the datum's variables, except where the spec sets the same name (the spec wins, as before)
      env: { ...ctx.env, ...this.spec.env, TMPDIR: ctx.tmpDir },
      stdin: stdinLines && stdinLines.length > 0 ? stdinLines.join('\n') + '\n' : undefined,
    };
    if (this.mode === 'rewrite') {
      // No namespaces: point `/pfs` at the scratch dir in the command, stdin and env vars. Paths
      // hard-coded inside scripts cannot be rewritten; the log says so once per datum.
      launch.argv = launch.argv.map((a) => rewritePfs(a, ctx.pfsDir));
      if (launch.stdin) launch.stdin = rewritePfs(launch.stdin, ctx.pfsDir);
      for (const k of Object.keys(ctx.env)) launch.env[k] = rewritePfs(launch.env[k]!, ctx.pfsDir);
      ctx.log('system', `namespaces unavailable: /pfs rewritten to ${ctx.pfsDir} in cmd, stdin and env`);
    }
    let started = Date.now();
    // logged (and timed) when the command starts: a queued one waits for its lane first
    const begin = () => {
      started = Date.now();
      ctx.log('system', 'beginning to run user code');
    };
    const lane = ctx.lane;
    const server = this.mode === 'namespace' ? undefined : await this.laneServer(lane, ctx.hideDir);
    let r: TransformResult;
    if (server) r = await this.runOnServer(server.server, ctx, launch, begin);
    else if (this.mode === 'helper') {
      // the probe found the helper working, but this lane's server did not start: spawning from
      // node would run user code with no private /pfs and with write access to shared inputs
      r = { ok: false, exitCode: null, signal: null, timedOut: false, reason: 'the sandbox helper (tusk-ns) could not start for this worker; user code is not run outside it (set TUSK_PFS_MODE=namespace or rewrite to use another mode)' };
    } else {
      const spawned = (): Promise<TransformResult> => {
        // stopped or restarted while it waited for its lane: its guard would never fire now
        if (ctx.signal.aborted) return Promise.resolve({ ok: false, exitCode: null, signal: null, timedOut: false, reason: abortReason(ctx.signal) });
        begin();
        return this.runSpawned(ctx, launch);
      };
      r = await this.inLaneOrder(lane, spawned);
    }
    const secs = ((Date.now() - started) / 1000).toFixed(2);
    ctx.log('system', r.ok ? `finished running user code after ${secs}s` : `errored running user code after ${secs}s: ${r.reason}`);
    return r;
  }

  close(): void {
    for (const p of this.lanes.values())
      void p.then((s) => {
        if (!s) return;
        s.server.close();
        // the server's root directory is a mount point only inside its namespace: empty here
        fs.rmSync(s.dir, { recursive: true, force: true });
      });
  }

  /**
   * The lane's serial server, started on its first attempt; undefined: spawn from node. Each
   * lane has a server of its own: one server for all of a job's workers made each wait while the
   * server was held by another's child until it exec'd (the vfork-style clone).
   */
  private laneServer(lane: number, hideDir: string | undefined): Promise<Server | undefined> {
    let s = this.lanes.get(lane);
    if (!s) {
      s = this.unavailable ? Promise.resolve(undefined) : this.startServer(true, hideDir);
      this.lanes.set(lane, s);
      void s.then(
        (x) => {
          if (!x) this.unavailable = true;
        },
        // the attempt that awaits it fails with the error; later ones spawn from node
        () => (this.unavailable = true),
      );
    }
    return s;
  }

  /** Run `f` after the lane's earlier attempts have ended (the path without a server). */
  private inLaneOrder<T>(lane: number, f: () => Promise<T>): Promise<T> {
    const r = (this.laneTails.get(lane) ?? Promise.resolve()).then(f);
    this.laneTails.set(lane, r.catch(() => undefined));
    return r;
  }

  private async startServer(serial: boolean, hideDir: string | undefined): Promise<Server | undefined> {
    if (!fs.existsSync(this.helper)) return undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-exec-'));
    const server = await ExecServer.start(this.helper, this.mode === 'helper' ? dir : undefined, { serial, hideDir });
    if (!server) fs.rmSync(dir, { recursive: true, force: true });
    else server.setBaseEnv(this.baseEnv);
    return server ? { server, dir } : undefined;
  }

  private async runOnServer(server: ExecServer, ctx: DatumContext, launch: Launch, begin: () => void): Promise<TransformResult> {
    let stdinFile: string | undefined;
    if (launch.stdin !== undefined) {
      stdinFile = path.join(path.dirname(ctx.pfsDir), 'stdin');
      fs.writeFileSync(stdinFile, launch.stdin);
    }
    const out = lineSplitter(ctx.log, 'stdout');
    const err = lineSplitter(ctx.log, 'stderr');
    let pid = 0;
    const g = guard(ctx, () => pid);
    try {
      const r = await server.run(
        { pfsDir: ctx.pfsDir, workDir: ctx.workingDir, stdinFile, env: launch.env, argv: launch.argv },
        {
          started: (p) => {
            pid = p;
            begin();
            g.start();
            // stopped while it was queued: the abort fired before there was a pid to kill
            if (ctx.signal.aborted) g.killTree();
          },
          output: (stream, data) => (stream === 'stdout' ? out : err).push(data),
        },
      );
      out.flush();
      const lastErr = err.flush();
      if (r.code === 127 && lastErr.startsWith('tusk-ns: cannot start ')) return { ok: false, exitCode: 127, signal: null, timedOut: g.timedOut(), reason: lastErr.slice('tusk-ns: '.length) };
      return this.result(r.code, r.signal, g.timedOut(), ctx);
    } finally {
      g.dispose();
    }
  }

  private result(code: number | null, signal: string | null, timedOut: boolean, ctx: DatumContext): TransformResult {
    const accepted = code === 0 || (code !== null && this.spec.accept_return_code.includes(code));
    if (accepted && !timedOut) return { ok: true, exitCode: code, signal: null, timedOut };
    return {
      ok: false,
      exitCode: code,
      signal,
      timedOut,
      reason: timedOut ? `timed out after ${ctx.timeoutMs} ms` : ctx.signal.aborted ? abortReason(ctx.signal) : signal ? `killed by ${signal}` : `exit status ${code}`,
    };
  }

  /** Without the server: one node spawn per attempt (the shell-namespace and no-helper paths). */
  private runSpawned(ctx: DatumContext, launch: Launch): Promise<TransformResult> {
    let argv0 = launch.argv[0]!;
    let args = launch.argv.slice(1);
    let env = { ...this.baseEnv, ...launch.env };
    if (this.mode === 'namespace') {
      argv0 = 'unshare';
      // no --fork: a parent left waiting inside the namespace, outside the chroot, would show
      // user code the unhidden store through /proc/<its pid>/root
      args = ['--user', '--map-root-user', '--mount', 'sh', '-c', NAMESPACE_SCRIPT, 'tusk-ns', ...launch.argv];
      env = { ...env, TUSK_NS_PFS: ctx.pfsDir, TUSK_NS_CWD: ctx.workingDir, TUSK_NS_TMP: ctx.tmpDir, TUSK_NS_HIDE: ctx.hideDir ?? '' };
    }
    return new Promise<TransformResult>((resolve) => {
      let settled = false;
      const child = spawn(argv0, args, { cwd: this.mode === 'rewrite' ? ctx.workingDir : ctx.tmpDir, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const g = guard(ctx, () => child.pid);
      g.start();
      const out = lineSplitter(ctx.log, 'stdout');
      const err = lineSplitter(ctx.log, 'stderr');
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      // user code that never reads stdin must not fail on EPIPE (Pachyderm ignores it too)
      child.stdin.on('error', () => undefined);
      child.stdin.end(launch.stdin);
      const done = (r: TransformResult) => {
        if (settled) return;
        settled = true;
        g.dispose();
        out.flush();
        err.flush();
        resolve(r);
      };
      child.on('error', (e) =>
        done({ ok: false, exitCode: null, signal: null, timedOut: g.timedOut(), reason: `cannot start ${launch.argv[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}` }),
      );
      // As the server does: what the command left running in its group ends with it (else a
      // `cmd &` holding stdout open would also keep the datum from ending). Node has reaped the
      // leader by now, but a group's id is not reused while any member lives; with none left the
      // kill finds nothing (unless, in that instant, the pid counter wrapped onto a new group
      // leader: the server, which kills before reaping, has not even that window).
      child.on('exit', () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing was left
        }
      });
      child.on('close', (code, signal) => done(this.result(code, signal, g.timedOut(), ctx)));
    });
  }
}

/**
 * A runner's writer of a job's log: each datum's lines, stamped with the time and the datum, go to
 * the store's log of the job (StoreHandle.logs), which writes them in batches.
 */
export function jobLogger(log: LogAppender): { forDatum(datum: string): DatumContext['log']; close(): Promise<void> } {
  return {
    forDatum: (datum) => (stream, message) => log.append({ ts: new Date().toISOString(), datum, stream, message }),
    close: () => log.close(),
  };
}

/** Why a datum's signal fired: the runner names it (`restarted`); otherwise the job was stopped. */
function abortReason(signal: AbortSignal): string {
  return typeof signal.reason === 'string' ? signal.reason : 'job stopped';
}

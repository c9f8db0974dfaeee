// The client side of `tusk-ns --serve`: a small C process that forks each datum's command (a
// job keeps one per worker, serial, so a worker can queue its next datum: transform.ts). Forking
// it costs a fraction of forking node, and in namespace mode it builds the `/pfs` root once per
// server instead of once per datum (see src/native/tusk-ns.c for the protocol).
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

export interface ExecRequest {
  /** bound at /pfs in namespace mode; ignored in plain mode */
  pfsDir: string;
  workDir: string;
  /** a file fed to the command's stdin; none: /dev/null */
  stdinFile?: string;
  env: Record<string, string>;
  argv: readonly string[];
}

export interface ExecHandlers {
  started(pid: number): void;
  output(stream: 'stdout' | 'stderr', data: Buffer): void;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Pending {
  handlers: ExecHandlers;
  resolve(r: ExecResult): void;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

export class ExecServer {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private dead: string | undefined;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {}

  /**
   * Start a server; resolves once it is ready, or undefined when it cannot run here (no helper
   * binary, user namespaces disabled): the caller then falls back to spawning from node.
   */
  static start(helper: string, tmpDir: string | undefined, opts: { serial?: boolean; hideDir?: string } = {}): Promise<ExecServer | undefined> {
    return new Promise((resolve) => {
      let child: ChildProcessByStdio<Writable, Readable, Readable>;
      try {
        const args = tmpDir ? ['--serve', tmpDir] : ['--serve-plain'];
        // serial: requests sent while a command runs wait in the server and start the moment it ends
        if (opts.serial) args.push('--serial');
        // hideDir: the store, covered in every datum's namespace but for the datum's own scratch
        const env = opts.hideDir ? { ...process.env, TUSK_NS_HIDE: opts.hideDir } : process.env;
        child = spawn(helper, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
      } catch {
        resolve(undefined);
        return;
      }
      const server = new ExecServer(child);
      let ready = false;
      let errText = '';
      child.stderr.on('data', (d: Buffer) => (errText = (errText + d.toString()).slice(-2000)));
      child.on('error', () => {
        if (!ready) resolve(undefined);
        server.fail('the datum executor could not start');
      });
      child.on('exit', (code) => {
        if (!ready) resolve(undefined);
        server.fail(`the datum executor exited (${code ?? 'killed'}): ${errText.trim()}`);
      });
      child.stdin.on('error', () => undefined);
      child.stdout.on('data', (d: Buffer) => {
        if (!ready && d[0] === 0x52 /* R */) {
          ready = true;
          d = d.subarray(2);
          resolve(server);
        }
        server.onData(d);
      });
    });
  }

  /** The environment every later command starts from; a request's `env` overrides entries. */
  setBaseEnv(env: Record<string, string>): void {
    const fields = ['=', ...Object.entries(env).map(([k, v]) => `${k}=${v}`).filter((f) => !f.includes('\0'))];
    this.child.stdin.write(`${fields.length}\0${fields.join('\0')}\0`);
  }

  run(req: ExecRequest, handlers: ExecHandlers): Promise<ExecResult> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    const id = String(++this.seq);
    const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
    const fields = [id, req.pfsDir, req.workDir, req.stdinFile ?? '', String(env.length), ...env, ...req.argv];
    for (const f of fields) if (f.includes('\0')) return Promise.reject(new Error('a command argument or environment value holds a NUL byte'));
    return new Promise((resolve) => {
      this.pending.set(id, { handlers, resolve });
      this.child.stdin.write(`${fields.length}\0${fields.join('\0')}\0`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }

  private fail(reason: string): void {
    this.dead = reason;
    for (const p of this.pending.values()) {
      p.handlers.output('stderr', Buffer.from(reason + '\n'));
      p.resolve({ code: 125, signal: null });
    }
    this.pending.clear();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let at = 0;
    for (;;) {
      const nl = this.buf.indexOf(10, at);
      if (nl < 0) break;
      const head = this.buf.toString('latin1', at, nl).split(' ');
      const p = this.pending.get(head[1] ?? '');
      if (head[0] === 'O' || head[0] === 'E') {
        const len = Number(head[2]);
        if (this.buf.length < nl + 1 + len) break;
        p?.handlers.output(head[0] === 'O' ? 'stdout' : 'stderr', this.buf.subarray(nl + 1, nl + 1 + len));
        at = nl + 1 + len;
        continue;
      }
      at = nl + 1;
      if (!p) continue;
      if (head[0] === 'S') p.handlers.started(Number(head[2]));
      else if (head[0] === 'X') {
        this.pending.delete(head[1]!);
        const code = Number(head[2]);
        const sig = Number(head[3]);
        p.resolve(code < 0 ? { code: null, signal: SIGNAL_NAMES.get(sig) ?? 'SIGKILL' } : { code, signal: null });
      }
    }
    this.buf = at >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(at));
  }
}

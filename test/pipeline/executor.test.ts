// The datum executor's parts on their own: the compiled `tusk-ns --serve` process driven through
// ExecServer (plain and namespace modes), and the reused scratch tree. The end-to-end behaviour
// (jobs, retries, timeouts, /pfs in scripts) is in pipeline-cli.test.ts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecServer, type ExecResult } from '../../src/pipeline/exec-server.js';
import { ScratchSlot } from '../../src/pipeline/scratch.js';
import { ChildProcessTransform, type DatumContext } from '../../src/pipeline/transform.js';
import { tempDir } from '../helpers.js';

const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'native', 'tusk-ns');
const haveHelper = fs.existsSync(HELPER);
const namespaces =
  haveHelper && process.platform === 'linux' && spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;

interface Ran extends ExecResult {
  stdout: string;
  stderr: string;
  pid: number;
}

function run(server: ExecServer, argv: string[], opts: { env?: Record<string, string>; pfsDir?: string; workDir?: string; stdinFile?: string } = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  let pid = 0;
  return server
    .run(
      { pfsDir: opts.pfsDir ?? '/nonexistent', workDir: opts.workDir ?? '/', stdinFile: opts.stdinFile, env: opts.env ?? {}, argv },
      {
        started: (p) => (pid = p),
        output: (stream, data) => (stream === 'stdout' ? (stdout += data.toString()) : (stderr += data.toString())),
      },
    )
    .then((r) => ({ ...r, stdout, stderr, pid }));
}

/** Datum `n`'s attempt context, its scratch tree (pfs/out, tmp) made under `dir`; `more` overrides fields. */
function datumContext(dir: string, n: number, more: Partial<DatumContext> = {}): DatumContext {
  const pfsDir = path.join(dir, `slot${n}`, 'pfs');
  const tmpDir = path.join(dir, `slot${n}`, 'tmp');
  fs.mkdirSync(path.join(pfsDir, 'out'), { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  // each datum in a lane of its own unless the test says otherwise
  return { pipeline: 'p', jobId: 'j', datumId: `d${n}`, pfsDir, tmpDir, workingDir: dir, env: {}, signal: new AbortController().signal, log: () => undefined, lane: n, ...more };
}

/** A `--serve-plain` server (or `--serial` one) with PATH set, as a job's would have. */
async function plainServer(opts: { serial?: boolean } = {}): Promise<ExecServer> {
  const server = (await ExecServer.start(HELPER, undefined, opts))!;
  server.setBaseEnv({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
  return server;
}

/** Whether process `pid` has ended (gone, or a zombie no one has reaped yet). */
function exited(pid: number): boolean {
  return !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
}

/** Wait up to ~2 s for every one of `pids` to end; true if they did. */
async function untilExited(...pids: number[]): Promise<boolean> {
  for (let i = 0; i < 100 && !pids.every(exited); i++) await new Promise((res) => setTimeout(res, 20));
  return pids.every(exited);
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!haveHelper)('tusk-ns --serve-plain', () => {
  it('reports exit codes, signals, output in order, empty arguments and a missing command', async () => {
    const server = (await ExecServer.start(HELPER, undefined))!;
    expect(server).toBeDefined();
    server.setBaseEnv({ PATH: process.env.PATH ?? '/usr/bin:/bin', BASE: 'base', OVERRIDE: 'base' });
    try {
      const r = await run(server, ['sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf "[%s]" "$1" "$BASE" "$OVERRIDE"; exit 7', 'sh', ''], { env: { OVERRIDE: 'datum' } });
      expect(r).toMatchObject({ code: 7, signal: null });
      expect(r.stdout).toBe('out1\nout2\nout3\n[][base][datum]');
      expect(r.stderr).toBe('err1\nerr2\nerr3\n');
      expect(r.pid).toBeGreaterThan(0);

      const missing = await run(server, ['no-such-command-here']);
      expect(missing.code).toBe(127);
      expect(missing.stderr).toContain('tusk-ns: cannot start no-such-command-here: command not found');

      const big = await run(server, ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x']);
      expect(big.stdout.length).toBe(300_000);
    } finally {
      server.close();
    }
  });

  it('kills a running command by its process group and runs several at once', async () => {
    const server = await plainServer();
    try {
      let pid = 0;
      const slow = server.run({ pfsDir: '', workDir: '/', env: {}, argv: ['sh', '-c', 'sleep 30 & wait'] }, { started: (p) => (pid = p), output: () => undefined });
      const quick = await Promise.all([1, 2, 3, 4].map((i) => run(server, ['sh', '-c', `echo ${i}`])));
      expect(quick.map((q) => q.stdout)).toEqual(['1\n', '2\n', '3\n', '4\n']);
      expect(pid).toBeGreaterThan(0);
      process.kill(-pid, 'SIGKILL');
      expect(await slow).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      server.close();
    }
  });

  it('kills what a command left running in its process group once it exits', async () => {
    const server = await plainServer();
    try {
      // the command starts a background sleep and exits at once, without waiting for it
      const r = await run(server, ['sh', '-c', 'sleep 30 & echo $!']);
      expect(r.code).toBe(0);
      const bg = Number(r.stdout.trim());
      expect(bg).toBeGreaterThan(0);
      expect(await untilExited(bg)).toBe(true);
      // a process that left the group (a daemon of its own session) is not the datum's to stop
      const d = await run(server, ['sh', '-c', 'setsid sleep 30 >/dev/null 2>&1 < /dev/null & echo $!']);
      const daemon = Number(d.stdout.trim());
      await new Promise((res) => setTimeout(res, 100));
      expect(fs.existsSync(`/proc/${daemon}`)).toBe(true);
      process.kill(daemon, 'SIGKILL');
    } finally {
      server.close();
    }
  });

  it('feeds a file to stdin and starts in the working directory', async () => {
    const dir = tempDir();
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'in.txt'), 'line one\nline two\n');
    const server = await plainServer();
    try {
      const r = await run(server, ['sh', '-c', 'pwd; wc -l'], { workDir: dir, stdinFile: path.join(dir, 'in.txt') });
      expect(r.stdout.split('\n').map((l) => l.trim())).toEqual([fs.realpathSync(dir), '2', '']);
      const none = await run(server, ['sh', '-c', 'wc -c']);
      expect(none.stdout.trim()).toBe('0');
    } finally {
      server.close();
    }
  });

  it('makes each command lead a process group; a session of its own only when there is a terminal to keep it from', async () => {
    const server = await plainServer();
    try {
      const r = await run(server, ['sh', '-c', 'read -r l < /proc/$$/stat; echo "$l"']);
      const [, , pgrp, session] = r.stdout.trim().split(') ')[1]!.split(' ').map(Number);
      expect(pgrp).toBe(r.pid);
      let tty = false;
      try {
        fs.closeSync(fs.openSync('/dev/tty', 'r'));
        tty = true;
      } catch {
        // no controlling terminal (CI, a detached runner)
      }
      const mySession = Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3]);
      if (tty) expect(session).toBe(r.pid);
      else expect(session).toBe(mySession);
    } finally {
      server.close();
    }
  });

  it('kills what is still running when its caller goes away', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const marker = path.join(dir, 'survived');
    const server = await plainServer();
    const r = run(server, ['sh', '-c', `sleep 1; touch ${marker}`]);
    await new Promise((res) => setTimeout(res, 200));
    server.close();
    await r;
    await new Promise((res) => setTimeout(res, 1500));
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe.skipIf(!namespaces)('tusk-ns --serve (namespaces)', () => {
  it('gives each command its own /pfs, also when several run at once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const pfs = [1, 2, 3].map((i) => {
      const p = path.join(dir, `d${i}`, 'pfs');
      fs.mkdirSync(path.join(p, 'in'), { recursive: true });
      fs.mkdirSync(path.join(p, 'out'));
      fs.writeFileSync(path.join(p, 'in', 'x'), `datum ${i}\n`);
      return p;
    });
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    const server = (await ExecServer.start(HELPER, root))!;
    expect(server).toBeDefined();
    server.setBaseEnv({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
    try {
      const rs = await Promise.all(pfs.map((p) => run(server, ['sh', '-c', 'sleep 0.2; cat /pfs/in/x; cp /pfs/in/x /pfs/out/y; id -u'], { pfsDir: p })));
      expect(rs.map((r) => r.stdout.split('\n')[0])).toEqual(['datum 1', 'datum 2', 'datum 3']);
      // files written to /pfs/out land in the datum's scratch and belong to the caller
      for (const [i, p] of pfs.entries()) expect(fs.readFileSync(path.join(p, 'out', 'y'), 'utf8')).toBe(`datum ${i + 1}\n`);
      expect(rs.every((r) => r.stdout.split('\n')[1] === String(process.getuid?.() ?? ''))).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe.skipIf(!namespaces)('tusk-ns --serve: one namespace per scratch directory', () => {
  /** A scratch directory's pfs/ holding `who` (its name) and an empty out/. */
  function scratch(parent: string, name: string): string {
    const p = path.join(parent, name, 'pfs');
    fs.mkdirSync(path.join(p, 'out'), { recursive: true });
    fs.writeFileSync(path.join(p, 'who'), name);
    return p;
  }
  const SHOW = ['sh', '-c', 'echo "$(cat /pfs/who) $(readlink /proc/self/ns/mnt) $(ls -A /pfs/out | tr "\\n" ,)"'];
  const shown = (r: Ran) => {
    const [who, ns, out] = r.stdout.trim().split(' ');
    return { who, ns, out: out ?? '' };
  };

  async function withServer(body: (server: ExecServer, dir: string) => Promise<void>, helper = HELPER, dir = tempDir()): Promise<void> {
    dirs.push(dir);
    const root = path.join(dir, 'root');
    fs.mkdirSync(root, { recursive: true });
    const server = (await ExecServer.start(helper, root))!;
    expect(server).toBeDefined();
    server.setBaseEnv({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
    try {
      await body(server, dir);
    } finally {
      server.close();
    }
  }

  it('reuses a directory\'s namespace for its later datums and never shows one directory\'s files in another', () =>
    withServer(async (server, dir) => {
      const [a, b] = [scratch(dir, 'a'), scratch(dir, 'b')];
      const seen = [];
      for (const p of [a, b, a, b]) seen.push(shown(await run(server, SHOW, { pfsDir: p })));
      expect(seen.map((x) => x.who)).toEqual(['a', 'b', 'a', 'b']);
      expect(seen[2]!.ns).toBe(seen[0]!.ns);
      expect(seen[3]!.ns).toBe(seen[1]!.ns);
      expect(seen[1]!.ns).not.toBe(seen[0]!.ns);
      // the bind is live: what the runner lays out between datums is what the next one sees
      fs.writeFileSync(path.join(a, 'out', 'left'), '');
      expect(shown(await run(server, SHOW, { pfsDir: a }))).toEqual({ who: 'a', ns: seen[0]!.ns, out: 'left,' });
      fs.rmSync(path.join(a, 'out', 'left'));
      // at once, too
      const both = await Promise.all([a, b, a, b].map((p) => run(server, ['sh', '-c', `sleep 0.1; ${SHOW[2]}`], { pfsDir: p })));
      expect(both.map((r) => shown(r).who)).toEqual(['a', 'b', 'a', 'b']);
    }));

  it('builds a new namespace when the directory was replaced or something was mounted in it', () =>
    withServer(async (server, dir) => {
      const a = scratch(dir, 'a');
      const first = shown(await run(server, SHOW, { pfsDir: a }));
      fs.rmSync(a, { recursive: true });
      scratch(dir, 'a');
      fs.writeFileSync(path.join(a, 'who'), 'a2');
      const replaced = shown(await run(server, SHOW, { pfsDir: a }));
      // (namespace ids are reused once freed: only what the datum sees tells)
      expect(first.who).toBe('a');
      expect(replaced.who).toBe('a2');
      // code running as root inside the namespace can mount over /pfs/out or unmount /pfs; where it
      // cannot (an unprivileged caller), the commands fail and the check below holds all the same
      await run(server, ['sh', '-c', 'mount -t tmpfs t /pfs/out && touch /pfs/out/planted'], { pfsDir: a });
      expect(shown(await run(server, SHOW, { pfsDir: a }))).toMatchObject({ who: 'a2', out: '' });
      await run(server, ['sh', '-c', 'umount -l /pfs'], { pfsDir: a });
      expect(shown(await run(server, SHOW, { pfsDir: a }))).toMatchObject({ who: 'a2', out: '' });
    }));

  it('gives every datum a namespace of its own under TUSK_NS_PER_DATUM=1, /pfs as before', async () => {
    process.env.TUSK_NS_PER_DATUM = '1';
    try {
      await withServer(async (server, dir) => {
        const [a, b] = [scratch(dir, 'a'), scratch(dir, 'b')];
        // a datum's namespace outlives it while a command of the same directory still runs
        const hold = run(server, ['sh', '-c', `sleep 0.3; ${SHOW[2]}`], { pfsDir: a });
        const seen = [];
        for (const p of [a, b]) seen.push(shown(await run(server, SHOW, { pfsDir: p })));
        seen.push(shown(await hold));
        expect(seen.map((x) => x.who)).toEqual(['a', 'b', 'a']);
        expect(seen[2]!.ns).not.toBe(seen[0]!.ns);
      });
    } finally {
      delete process.env.TUSK_NS_PER_DATUM;
    }
  });

  it('keeps at most 64 namespaces, dropping the least recently used', () =>
    withServer(async (server, dir) => {
      const ps = Array.from({ length: 70 }, (_, i) => scratch(dir, `s${i}`));
      const ns = new Map<string, string>();
      for (const p of ps) {
        const r = shown(await run(server, SHOW, { pfsDir: p }));
        expect(r.who).toBe(path.basename(path.dirname(p)));
        ns.set(p, r.ns!);
      }
      // s69 is still held; s0 was dropped and is built again, seeing its own files
      expect(shown(await run(server, SHOW, { pfsDir: ps[69]! })).ns).toBe(ns.get(ps[69]!));
      expect(shown(await run(server, SHOW, { pfsDir: ps[0]! })).who).toBe('s0');
    }));

  it('kills a datum\'s whole process group in a reused namespace', () =>
    withServer(async (server, dir) => {
      const a = scratch(dir, 'a');
      await run(server, ['true'], { pfsDir: a });
      let pid = 0;
      let out = '';
      const slow = server.run({ pfsDir: a, workDir: '/', env: {}, argv: ['sh', '-c', 'sleep 30 & echo $!; wait'] }, { started: (p) => (pid = p), output: (_s, d) => (out += d.toString()) });
      while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 20));
      process.kill(-pid, 'SIGKILL');
      expect(await slow).toEqual({ code: null, signal: 'SIGKILL' });
      const bg = Number(out.trim());
      expect(await untilExited(bg)).toBe(true);
    }));

  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const setpriv = root && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '--user', '--mount', 'true'], { stdio: 'ignore' }).status === 0;
  it.skipIf(root && !setpriv)('works for an unprivileged caller', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o777);
    fs.mkdirSync(path.join(dir, 'root'), { mode: 0o777 });
    fs.chmodSync(path.join(dir, 'root'), 0o777);
    let helper = HELPER;
    if (root) {
      // the server itself runs as nobody
      helper = path.join(dir, 'as-nobody');
      fs.writeFileSync(helper, `#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups ${HELPER} "$@"\n`, { mode: 0o755 });
    }
    const uid = root ? '65534' : String(process.getuid?.());
    await withServer(
      async (server) => {
        const [a, b] = [scratch(dir, 'a'), scratch(dir, 'b')];
        fs.chmodSync(path.join(a, 'out'), 0o777);
        const rs = [];
        for (const p of [a, b, a]) rs.push(await run(server, ['sh', '-c', `${SHOW[2]}; id -u; touch /pfs/out/made`], { pfsDir: p }));
        expect(rs.map((r) => r.stdout.split('\n')[1])).toEqual([uid, uid, uid]);
        expect(rs.map((r) => shown(r).who)).toEqual(['a', 'b', 'a']);
        expect(shown(rs[2]!).ns).toBe(shown(rs[0]!).ns);
        expect(fs.statSync(path.join(a, 'out', 'made')).uid).toBe(Number(uid));
      },
      helper,
      dir,
    );
  });
});

describe.skipIf(!haveHelper)('tusk-ns --serial', () => {
  it('starts a request sent while a command runs only once that command has ended, in order', async () => {
    const server = await plainServer({ serial: true });
    try {
      // each prints when it starts and when it ends (ms since the epoch); sent at once
      const cmd = ['sh', '-c', 'date +%s%3N; sleep 0.2; date +%s%3N'];
      const rs = await Promise.all([run(server, cmd), run(server, cmd), run(server, ['sh', '-c', 'exit 3'])]);
      const [a, b] = rs.map((r) => r.stdout.trim().split('\n').map(Number));
      expect(rs.map((r) => r.code)).toEqual([0, 0, 3]);
      expect(b![0]).toBeGreaterThanOrEqual(a![1]!);
      expect(rs[1]!.pid).not.toBe(rs[0]!.pid);
    } finally {
      server.close();
    }
  });

  it('drops queued requests when its caller goes away, and kills the running one', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const marker = path.join(dir, 'queued-ran');
    const server = await plainServer({ serial: true });
    let pid = 0;
    const first = server.run({ pfsDir: '', workDir: '/', env: {}, argv: ['sleep', '30'] }, { started: (p) => (pid = p), output: () => undefined });
    void server.run({ pfsDir: '', workDir: '/', env: {}, argv: ['touch', marker] }, { started: () => undefined, output: () => undefined });
    for (let i = 0; i < 100 && !pid; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pid).toBeGreaterThan(0);
    server.close();
    await first;
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe.skipIf(!namespaces)('one lane without a server (the unshare path)', () => {
  it('runs the lane in order and never starts an attempt stopped while it waited', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const ctx = (n: number, signal: AbortSignal) => datumContext(dir, n, { env: { MARK: path.join(dir, `ran${n}`) }, signal, lane: 0 });
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'sleep 0.3; touch "$MARK"'], accept_return_code: [] } as never, 'namespace');
    try {
      const stop = new AbortController();
      const first = t.run(ctx(0, new AbortController().signal), 'main');
      const second = t.run(ctx(1, stop.signal), 'main');
      stop.abort(); // e.g. `stop job` while the second waits behind the first
      const [a, b] = await Promise.all([first, second]);
      expect(a.ok).toBe(true);
      expect(b).toMatchObject({ ok: false, reason: 'job stopped' });
      expect(fs.existsSync(path.join(dir, 'ran0'))).toBe(true);
      expect(fs.existsSync(path.join(dir, 'ran1'))).toBe(false);
    } finally {
      t.close();
    }
  });

  it('ends a datum when its command exits, killing what it left running in its group', async () => {
    const dir = tempDir();
    dirs.push(dir);
    let bg = 0;
    const ctx = datumContext(dir, 0, { log: (stream, message) => void (stream === 'stdout' && (bg = Number(message.trim()))) });
    // the sleep does not hold the datum's stdout: the datum ends when sh does, with or without it
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'] } as never, 'namespace');
    try {
      expect((await t.run(ctx, 'main')).ok).toBe(true);
      expect(bg).toBeGreaterThan(0);
      expect(await untilExited(bg)).toBe(true);
    } finally {
      t.close();
    }
  });

  it('leaves a one-shot command\'s last argument alone, even when it is --serial', () => {
    const dir = tempDir();
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'pfs'));
    const r = spawnSync(HELPER, [path.join(dir, 'pfs'), '/', dir, '--', 'echo', 'a', '--serial'], { encoding: 'utf8', timeout: 5000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('a --serial');
  });
});

describe.skipIf(!haveHelper)('a job\'s servers', () => {
  it('gives each lane a server of its own, reuses it for the lane\'s next datum, and stops them all at close', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const ctx = (n: number) => datumContext(dir, n, { lane: n % 2, log: (stream, message) => void (stream === 'stdout' && (parents[n] = Number(message.trim()))) });
    const parents: number[] = [];
    // the command's parent is the server that started it; each sleeps so that the two overlap
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'echo $PPID; sleep 0.3'] } as never, 'helper');
    try {
      const both = await Promise.all([t.run(ctx(0), 'main'), t.run(ctx(1), 'main')]);
      expect(both.every((r) => r.ok)).toBe(true);
      expect(parents[0]).toBeGreaterThan(0);
      expect(parents[1]).not.toBe(parents[0]);
      expect((await t.run(ctx(2), 'main')).ok).toBe(true);
      expect(parents[2]).toBe(parents[0]); // lane 0's server, not a third one
    } finally {
      t.close();
    }
    expect(await untilExited(parents[0]!, parents[1]!)).toBe(true);
  });

  it('runs one lane\'s attempts one after another on its own server, lanes at once, timeouts from the start', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const lines: Record<string, string[]> = {};
    const ctx = (n: number, lane: number, timeoutMs?: number) => datumContext(dir, n, { lane, timeoutMs, log: (stream, message) => void (stream === 'stdout' && (lines[`d${n}`] ??= []).push(message)) });
    // prints its server (parent) and when it started and ended
    const t = new ChildProcessTransform({ cmd: ['sh', '-c', 'echo $PPID; date +%s%3N; sleep 0.3; date +%s%3N'], accept_return_code: [] } as never, 'helper');
    expect(t.queues).toBe(true);
    try {
      // d2 has a 450 ms timeout: it waits ~300 ms behind d0 in lane 0, which must not count
      const rs = await Promise.all([t.run(ctx(0, 0), 'main'), t.run(ctx(1, 1), 'main'), t.run(ctx(2, 0, 450), 'main')]);
      expect(rs.map((r) => r.ok)).toEqual([true, true, true]);
      const [p0, s0, e0] = lines.d0!.map(Number);
      const [p1, s1] = lines.d1!.map(Number);
      const [p2, s2] = lines.d2!.map(Number);
      expect(p2).toBe(p0); // one server per lane
      expect(p1).not.toBe(p0);
      expect(s2).toBeGreaterThanOrEqual(e0!); // after d0 ended
      expect(s1).toBeLessThan(e0!); // the other lane ran beside it
      expect(s0).toBeLessThan(e0!);
    } finally {
      t.close();
    }
  });
});

describe('a worker scratch tree reused between datums', () => {
  it('empties everything but the directories the next datum needs', () => {
    const parent = tempDir();
    dirs.push(parent);
    const slot = new ScratchSlot(parent);
    slot.prepare(['in/src']);
    fs.mkdirSync(path.join(slot.pfsDir, 'in', 'src'), { recursive: true });
    fs.writeFileSync(path.join(slot.pfsDir, 'in', 'src', 'a'), 'a');
    fs.mkdirSync(path.join(slot.pfsDir, 'out', 'deep', 'er'), { recursive: true });
    fs.writeFileSync(path.join(slot.pfsDir, 'out', 'deep', 'er', 'f'), 'f');
    fs.writeFileSync(path.join(slot.tmpDir, 't'), 't');
    const srcIno = fs.statSync(path.join(slot.pfsDir, 'in', 'src')).ino;

    // what it kept is reported, so laying out the next datum makes no directory twice
    const kept = slot.prepare(['in/src']);
    expect([...kept].sort()).toEqual([slot.pfsDir, path.join(slot.pfsDir, 'in'), path.join(slot.pfsDir, 'in', 'src'), path.join(slot.pfsDir, 'out'), slot.tmpDir].sort());
    expect(fs.readdirSync(path.join(slot.pfsDir, 'in', 'src'))).toEqual([]);
    // kept, not re-created
    expect(fs.statSync(path.join(slot.pfsDir, 'in', 'src')).ino).toBe(srcIno);
    expect(fs.readdirSync(path.join(slot.pfsDir, 'out'))).toEqual([]);
    expect(fs.readdirSync(slot.tmpDir)).toEqual([]);

    slot.prepare(['other']);
    expect(fs.readdirSync(slot.pfsDir).sort()).toEqual(['out']);

    // user code that removed its own out/ and tmp/ gets them back
    fs.rmSync(path.join(slot.pfsDir, 'out'), { recursive: true });
    fs.rmSync(slot.tmpDir, { recursive: true });
    slot.prepare([]);
    expect(fs.existsSync(path.join(slot.pfsDir, 'out'))).toBe(true);
    expect(fs.existsSync(slot.tmpDir)).toBe(true);
    slot.dispose();
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('removes just the recorded input files of a read-only layout, and walks the tree otherwise', () => {
    const parent = tempDir();
    dirs.push(parent);
    const slot = new ScratchSlot(parent);
    const src = path.join(slot.pfsDir, 'in', 'src');
    const layOut = (name: string) => {
      const present = slot.prepare(['in/src']);
      if (!present.has(src)) fs.mkdirSync(src, { recursive: true });
      fs.writeFileSync(path.join(src, name), name);
      slot.laidOut(['in/src'], [path.join(src, name)]);
      fs.writeFileSync(path.join(slot.pfsDir, 'out', `o-${name}`), 'o');
      fs.mkdirSync(path.join(slot.tmpDir, 'd'), { recursive: true });
    };
    layOut('a');
    // a file the layout did not record: inputs are trusted to be as laid out (read-only /pfs),
    // so the next datum of the same shape does not read pfs/in back and leaves it
    fs.writeFileSync(path.join(src, 'unrecorded'), 'x');
    layOut('b');
    expect(fs.readdirSync(src).sort()).toEqual(['b', 'unrecorded']);
    expect(fs.readdirSync(path.join(slot.pfsDir, 'out'))).toEqual(['o-b']);
    expect(fs.readdirSync(slot.tmpDir)).toEqual(['d']);

    // another shape walks the whole tree: nothing of the last datum stays
    const kept = slot.prepare(['other']);
    expect(fs.existsSync(path.join(slot.pfsDir, 'in'))).toBe(false);
    expect(fs.readdirSync(slot.pfsDir)).toEqual(['out']);
    expect(fs.readdirSync(path.join(slot.pfsDir, 'out'))).toEqual([]);
    expect(fs.readdirSync(slot.tmpDir)).toEqual([]);
    expect(kept.has(path.join(slot.pfsDir, 'other'))).toBe(false);

    // a record is used once: a layout that fails before recording leaves the walk to the next
    layOut('c');
    slot.prepare(['in/src']);
    fs.writeFileSync(path.join(src, 'left'), 'x');
    slot.prepare(['in/src']);
    expect(fs.readdirSync(src)).toEqual([]);

    // a recorded file that is gone (the tree was changed behind the slot's back): a fresh tree
    layOut('d');
    fs.rmSync(path.join(src, 'd'));
    const fresh = slot.prepare(['in/src']);
    expect(fs.existsSync(src)).toBe(false);
    expect(fresh.size).toBe(0);
    expect(fs.readdirSync(path.join(slot.pfsDir, 'out'))).toEqual([]);
    slot.dispose();
    expect(fs.readdirSync(parent)).toEqual([]);
  });
});

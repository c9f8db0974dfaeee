// The Slurm launcher of docs/team.md, run for real: a single-node cluster started here
// (slurmctld and slurmd on loopback, AuthType=auth/none, a temp config and free ports), the doc's
// job array submitted with `sbatch --wait`, its tasks `tusk worker` processes that run a job and
// exit once idle. Skipped where Slurm is not installed, or not as root (slurmd runs the tasks).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, withStoreDir } from '../cli/cli-helpers.js';
import { datumsOf, NO_RUNNER, setUpPipeline } from './worker-helpers.js';

const TOOLS = ['slurmctld', 'slurmd', 'sbatch', 'sinfo'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t}`]).status !== 0);
const skip =
  missing.length > 0
    ? `Slurm is not installed (${missing.join(', ')} missing): apt-get install slurm-wlm`
    : process.getuid?.() !== 0
      ? 'slurmd runs its tasks as root: run as root'
      : undefined;
const bin = (t: string) => (fs.existsSync(`/usr/sbin/${t}`) ? `/usr/sbin/${t}` : t);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The docs' Slurm script, made to fit a test: two tasks, a short idle exit, this store and this build. */
function docScript(store: string): string {
  const team = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'team.md'), 'utf8');
  const section = team.slice(team.indexOf('\n## Running workers\n'));
  const script = /```bash\n([\s\S]*?)```/.exec(section)![1]!;
  return script
    .replace(/--array=0-\d+/, '--array=0-1')
    .replace(/--cpus-per-task=\d+/, '--cpus-per-task=1')
    .replace(/^export TUSK_STORE=.*$/m, `export TUSK_STORE=${store}`)
    .replace(/--exit-when-idle \d+/, '--exit-when-idle 1')
    .replace(/\btusk worker\b/, `${process.execPath} ${BIN} worker`);
}

const daemons: ChildProcess[] = [];
afterAll(() => {
  for (const d of daemons) d.kill('SIGTERM');
});

describe.skipIf(skip !== undefined)(`tusk worker under Slurm${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a job array of workers from docs/team.md runs a job to the end, each task a worker that exits once idle', () =>
    withStoreDir(async (s) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-slurm-'));
      try {
        const host = os.hostname().split('.')[0]!;
        const [ctldPort, dPort] = [await freePort(), await freePort()];
        for (const d of ['state', 'spool']) fs.mkdirSync(path.join(dir, d));
        const conf = path.join(dir, 'slurm.conf');
        fs.writeFileSync(
          conf,
          [
            'ClusterName=tusktest',
            `SlurmctldHost=${host}(127.0.0.1)`,
            'AuthType=auth/none',
            'CredType=cred/none',
            `SlurmctldPort=${ctldPort}`,
            `SlurmdPort=${dPort}`,
            `StateSaveLocation=${dir}/state`,
            `SlurmdSpoolDir=${dir}/spool`,
            `SlurmctldPidFile=${dir}/slurmctld.pid`,
            `SlurmdPidFile=${dir}/slurmd.pid`,
            `SlurmctldLogFile=${dir}/slurmctld.log`,
            `SlurmdLogFile=${dir}/slurmd.log`,
            'ProctrackType=proctrack/linuxproc',
            'TaskPlugin=task/none',
            'SchedulerType=sched/builtin',
            'SelectType=select/cons_tres',
            'SelectTypeParameters=CR_CPU',
            'ReturnToService=2',
            'SlurmUser=root',
            'SlurmdUser=root',
            'JobCompType=jobcomp/none',
            'AccountingStorageType=accounting_storage/none',
            'JobAcctGatherType=jobacct_gather/none',
            'MpiDefault=none',
            `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
            `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
            '',
          ].join('\n'),
        );
        const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf, ...NO_RUNNER };
        // the tasks inherit this environment (sbatch --export=ALL): none of the test runner's own
        for (const k of ['TUSK_STORE', 'DEBUG', 'FORCE_COLOR', 'NODE_OPTIONS', 'TUSK_DEBUG']) delete env[k];
        for (const d of ['slurmctld', 'slurmd']) daemons.push(spawn(bin(d), ['-D', '-f', conf], { env, stdio: 'ignore' }));
        // the node is up once sinfo shows it idle
        for (let i = 0; ; i++) {
          const info = spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' });
          if (info.stdout.trim() === 'idle') break;
          if (i > 300) throw new Error(`the Slurm node did not come up: ${info.stdout}${info.stderr}\n${fs.readFileSync(path.join(dir, 'slurmctld.log'), 'utf8').slice(-2000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }

        const job = await setUpPipeline(s, 20, 'sleep 0.1; cp /pfs/in/* /pfs/out/');
        const store = fs.realpathSync(path.join(s.dir, '.tusk'));
        const script = path.join(dir, 'workers.sh');
        fs.writeFileSync(script, docScript(store));
        const sb = spawnSync('sbatch', ['--wait', script], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
        expect(sb.status, `${sb.stdout}${sb.stderr}`).toBe(0);
        const arrayId = /Submitted batch job (\d+)/.exec(sb.stdout)![1]!;
        const logs = [0, 1].map((t) => fs.readFileSync(path.join(dir, `tusk-worker-${arrayId}_${t}.log`), 'utf8'));
        const ids = logs.map((l) => /^worker (\S+) started$/m.exec(l)?.[1]);
        expect(ids.every((id) => id !== undefined), logs.join('\n---\n')).toBe(true);
        for (const l of logs) expect(l).toMatch(/ idle: \d+ datums/);

        const [j] = await s.json<{ state: string }[]>(['list', 'job', '-p', 'up'], { env: NO_RUNNER });
        expect(j!.state).toBe('JOB_SUCCESS');
        const datums = await datumsOf(s, 'up', job);
        expect(datums.every((d) => d.state === 'success' && ids.includes(d.worker ?? ''))).toBe(true);
        const files = await s.json<{ path: string }[]>(['list', 'file', 'up@master:/'], { env: NO_RUNNER });
        expect(files.length).toBe(20);
      } finally {
        // the daemons save their state as they stop: remove their directory once they have exited
        await Promise.all(
          daemons.splice(0).map(
            (d) =>
              new Promise<void>((resolve) => {
                if (d.exitCode !== null || d.signalCode !== null) return resolve();
                d.once('exit', () => resolve());
                d.kill('SIGTERM');
              }),
          ),
        );
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      }
    }), 180_000);
});

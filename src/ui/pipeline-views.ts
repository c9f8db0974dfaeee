// How pipelines, jobs, datums and logs are drawn: pachctl's tables (2.0–2.4 layouts) and the
// `Key: value` blocks of `inspect pipeline|job|datum` (PACHYDERM.md 5.2–5.5).

import type { LogLine } from '../pipeline/logs.js';
import type { WorkerDatumEvent } from '../pipeline/worker.js';
import type { DatumInfo, JobInfo, JobSetInfo, PipelineInfo } from '../pipeline/pipeline-service.js';
import type { InputSpec, TransformSpec } from '../pipeline/spec-types.js';
import { describeWindow } from '../pipeline/windows.js';
import { formatBytes, humanDuration } from './format.js';
import { progressBar } from './progress.js';
import { renderKeyValues, renderTable, type RowStream } from './table.js';
import type { TimeFormatter } from './views.js';

// pachctl cuts a failed job's reason to this many characters in the STATE column.
const JOB_REASON_LEN = 25;

/** `JOB_SUCCESS` → `success`. */
function stateWord(state: string): string {
  return state.replace(/^JOB_/, '').toLowerCase();
}

function isTerminal(state: string): boolean {
  return state === 'JOB_SUCCESS' || state === 'JOB_FAILURE' || state === 'JOB_KILLED' || state === 'JOB_UNRUNNABLE';
}

function millis(t: string | null): number | undefined {
  if (t === null) return undefined;
  const n = Date.parse(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Time between two instants in words, `-` unless both are known. */
function between(from: string | null, to: string | null): string {
  const a = millis(from);
  const b = millis(to);
  return a === undefined || b === undefined ? '-' : humanDuration(b - a);
}

/** A duration as Go's time.Duration prints it (`30s`, `1m30s`, `1h0m0s`, `500ms`). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

// ─── pipelines ───────────────────────────────────────────────────────────────────────────────

export function pipelineTable(pipelines: PipelineInfo[], time: TimeFormatter): string {
  return renderTable(
    ['NAME', 'VERSION', 'INPUT', 'CREATED', 'STATE / LAST JOB', 'DESCRIPTION'],
    pipelines.map((p) => [p.name, p.version, p.input, time(p.created), `${p.state} / ${p.lastJobState ?? '-'}`, p.description]),
  );
}

/** The input tree as Pachyderm prints it in `inspect pipeline|job`; `commits` fills in each pfs leaf's commit. */
export function inputJson(input: InputSpec, commits: { repo: string; branch: string | null; commit: string }[] = []): unknown {
  switch (input.kind) {
    case 'pfs': {
      const commit = input.commit ?? commits.find((c) => c.repo === input.repo && (c.branch ?? 'master') === input.branch)?.commit;
      return {
        pfs: dropEmpty({
          name: input.name,
          repo: input.repo,
          branch: input.branch,
          commit,
          glob: input.glob,
          join_on: input.join_on,
          outer_join: input.outer_join,
          group_by: input.group_by,
          lazy: input.lazy,
          empty_files: input.empty_files,
        }),
      };
    }
    case 'cron': {
      const commit = commits.find((c) => c.repo === input.repo)?.commit;
      return { cron: dropEmpty({ name: input.name, repo: input.repo, commit, spec: input.spec, overwrite: input.overwrite, start: input.start }) };
    }
    default:
      return { [input.kind]: input.inputs.map((i) => inputJson(i, commits)) };
  }
}

export function transformJson(t: TransformSpec): unknown {
  return dropEmpty({
    image: t.image,
    cmd: t.cmd,
    stdin: t.stdin,
    err_cmd: t.err_cmd,
    err_stdin: t.err_stdin,
    env: Object.keys(t.env).length > 0 ? t.env : undefined,
    accept_return_code: t.accept_return_code.length > 0 ? t.accept_return_code : undefined,
    working_dir: t.working_dir,
  });
}

export function pipelineDetails(p: PipelineInfo, time: TimeFormatter): string {
  const s = p.spec;
  return renderKeyValues([
    ['Name', p.name],
    ['Description', s.description || undefined],
    ['Created', time(p.created)],
    ['State', p.state],
    ['Workers Available', `${p.state === 'paused' ? 0 : s.parallelism}/${s.parallelism}`],
    ['Stopped', String(p.state === 'paused')],
    ['Parallelism Spec', `constant:${s.parallelism}`],
    ['Datum Timeout', s.datum_timeout_ms === undefined ? undefined : goDuration(s.datum_timeout_ms)],
    ['Job Timeout', s.job_timeout_ms === undefined ? undefined : goDuration(s.job_timeout_ms)],
    ['Input', pretty(inputJson(s.input))],
    ['Output Branch', p.outputBranch],
    ['Transform', pretty(transformJson(s.transform))],
    ['Workdir', s.workdir],
    ['Egress', s.egress],
    ['Ignored Fields', s.ignored.length > 0 ? s.ignored.join(', ') : undefined],
  ]);
}

// ─── jobs ────────────────────────────────────────────────────────────────────────────────────

/** PROGRESS: `processed + skipped / total`, with `+ recovered` when some datums were recovered. */
export function jobProgress(j: JobInfo): string {
  return j.recovered > 0 ? `${j.processed} + ${j.skipped} + ${j.recovered} / ${j.total}` : `${j.processed} + ${j.skipped} / ${j.total}`;
}

/** STATE: `success`, `failure: <reason cut to 25 characters>...`, `killed: <reason>`, … */
export function jobStateCell(j: JobInfo): string {
  const word = stateWord(j.state);
  if (j.state === 'JOB_SUCCESS' && j.total === j.skipped) return 'success: there were no datums to process';
  if (!j.reason) return word;
  if (j.state === 'JOB_FAILURE') return `${word}: ${j.reason.length > JOB_REASON_LEN ? j.reason.slice(0, JOB_REASON_LEN) + '...' : j.reason}`;
  if (j.state === 'JOB_KILLED' || j.state === 'JOB_UNRUNNABLE') return `${word}: ${j.reason}`;
  return word;
}

export function jobTable(jobs: JobInfo[], time: TimeFormatter): string {
  return renderTable(
    ['PIPELINE', 'ID', 'STARTED', 'DURATION', 'RESTART', 'PROGRESS', 'DL', 'UL', 'STATE'],
    jobs.map((j) => [
      j.pipeline,
      j.id,
      time(j.started),
      isTerminal(j.state) ? between(j.started, j.finished) : '-',
      0,
      jobProgress(j),
      formatBytes(j.downloadBytes),
      formatBytes(j.uploadBytes),
      jobStateCell(j),
    ]),
  );
}

/** `list job` without `-p`/`-x`: one row per job set, PROGRESS an 8-cell bar (succeeded / running / failed). */
export function jobSetTable(sets: JobSetInfo[], time: TimeFormatter, color: boolean): string {
  return renderTable(
    ['ID', 'SUBJOBS', 'PROGRESS', 'CREATED', 'MODIFIED'],
    sets.map((s) => [s.id, s.subjobs, progressBar({ done: s.succeeded, running: s.running, failed: s.failed, total: s.subjobs }, color), time(s.created), time(s.modified)]),
    { tty: color },
  );
}

/** `inspect job`; `pipeline` (the current version) supplies timeouts, input and transform. */
export function jobDetails(j: JobInfo, pipeline: PipelineInfo | undefined, time: TimeFormatter): string {
  const s = pipeline?.spec;
  return renderKeyValues([
    ['ID', j.id],
    ['Pipeline', j.pipeline],
    ['Started', time(j.started)],
    ['Duration', isTerminal(j.state) ? between(j.started, j.finished) : '-'],
    ['State', stateWord(j.state)],
    ['Reason', j.reason ?? ''],
    ['Processed', String(j.processed)],
    ['Failed', String(j.failed)],
    ['Skipped', String(j.skipped)],
    ['Recovered', String(j.recovered)],
    ['Total', String(j.total)],
    ['Data Downloaded', formatBytes(j.downloadBytes)],
    ['Data Uploaded', formatBytes(j.uploadBytes)],
    ['Datum Timeout', s?.datum_timeout_ms === undefined ? undefined : goDuration(s.datum_timeout_ms)],
    ['Job Timeout', s?.job_timeout_ms === undefined ? undefined : goDuration(s.job_timeout_ms)],
    ['Restarts', '0'],
    ['ParallelismSpec', s ? `constant:${s.parallelism}` : undefined],
    ['Input', s ? pretty(inputJson(s.input, j.inputs)) : undefined],
    ['Input Commits', s ? undefined : j.inputs.map((c) => `${c.repo}@${c.commit}`).join(' ') || undefined],
    ['Transform', s ? pretty(transformJson(s.transform)) : undefined],
    ['Output Commit', j.outputCommit],
  ]);
}

// ─── datums ──────────────────────────────────────────────────────────────────────────────────

/** STATUS: the datum's state; `-` while it waits to run (and for a preview). */
function datumStatus(d: DatumInfo): string {
  return d.state === 'pending' ? '-' : d.state;
}

/** A window's files are summed up (`series@master: 4 files in 3 commits`): a window may hold thousands. */
function datumFiles(d: DatumInfo): string {
  const parts: string[] = [];
  const windows = new Map<string, { files: number; commits: Set<string> }>();
  for (const f of d.files) {
    if (!f.window) {
      parts.push(`${f.repo}@${f.commit}:${f.path}`);
      continue;
    }
    const key = `${f.repo}@${f.branch}`;
    let w = windows.get(key);
    if (!w) {
      windows.set(key, (w = { files: 0, commits: new Set() }));
      parts.push(key);
    }
    w.files++;
    w.commits.add(f.commit);
  }
  return parts.map((p) => (windows.has(p) ? `${p}: ${plural(windows.get(p)!.files, 'file')} in ${plural(windows.get(p)!.commits.size, 'commit')}` : p)).join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function datumWindow(d: DatumInfo): string | undefined {
  const w = d.files.find((f) => f.window)?.window;
  return w ? describeWindow(w) : undefined;
}

/**
 * `list datum`: `ID FILES STATUS TIME WORKER` (the worker of the last attempt); a preview (`-f`)
 * prints `-` for ID and STATUS and has no WORKER. A windowed pipeline's table adds WINDOW, the
 * bounds of each datum's window.
 */
export function datumTable(datums: DatumInfo[], opts: { preview?: boolean } = {}): string {
  const windowed = datums.some((d) => datumWindow(d) !== undefined);
  return renderTable(
    [...(windowed ? ['ID', 'WINDOW', 'FILES', 'STATUS', 'TIME'] : ['ID', 'FILES', 'STATUS', 'TIME']), ...(opts.preview ? [] : ['WORKER'])],
    datums.map((d) => [
      opts.preview ? '-' : d.id,
      ...(windowed ? [datumWindow(d) ?? '-'] : []),
      datumFiles(d),
      opts.preview ? '-' : datumStatus(d),
      d.state === 'skipped' ? '-' : between(d.started, d.finished),
      ...(opts.preview ? [] : [d.worker ?? '-']),
    ]),
  );
}

export function datumDetails(d: DatumInfo): string {
  const head = renderKeyValues([
    ['ID', d.id],
    ['Job ID', d.job],
    ['State', d.state === 'pending' ? 'STARTING' : d.state.toUpperCase()],
    ['Attempts', String(d.attempts)],
    ['Error', d.error ?? undefined],
    ['Warning', d.warning ?? undefined],
    ['Data Downloaded', formatBytes(d.downloadBytes)],
    ['Data Uploaded', formatBytes(d.uploadBytes)],
    ['Total Time', d.state === 'skipped' ? '-' : between(d.started, d.finished)],
    ['Window', datumWindow(d)],
  ]);
  const files = renderTable(
    ['REPO', 'COMMIT', 'PATH'],
    d.files.map((f) => [f.repo, f.commit, f.path]),
  )
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l}`)
    .join('\n');
  // PFS State stays last, where pachctl prints it
  return `${head}${attemptsBlock(d)}PFS State:\n${files}\n`;
}

/** `inspect datum`'s attempts: who ran each, when, and how it ended. */
function attemptsBlock(d: DatumInfo): string {
  const log = d.attemptLog ?? [];
  if (log.length === 0) return '';
  const last = log.length - 1;
  const rows = log.map((a, i) => [
    String(a.attempt),
    a.worker,
    a.started,
    a.finished === null ? '-' : between(a.started, a.finished),
    // an open row is the attempt running now, or one whose worker went away (its datum was retaken)
    a.outcome ?? (i === last && d.state === 'running' ? 'running' : 'lost'),
    a.error ?? '',
  ]);
  const table = renderTable(['ATTEMPT', 'WORKER', 'STARTED', 'TIME', 'OUTCOME', 'ERROR'], rows)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `  ${l.trimEnd()}`)
    .join('\n');
  return `Attempt log:\n${table}\n`;
}

// ─── logs ────────────────────────────────────────────────────────────────────────────────────

/** `logs` output, a line at a time: the message (by default), or with --raw one JSON object with Pachyderm's LogMessage field names. */
export function logLineStream(raw: boolean): RowStream<LogLine> {
  return { row: (l, out) => void out.push(raw ? logJsonLine(l) : `${l.message}\n`), end: () => {} };
}

/** Default `logs` output: the message of each line, one per line. */
export function logMessages(lines: readonly LogLine[]): string {
  return lines.map((l) => `${l.message}\n`).join('');
}

/** `logs --raw`: one JSON object per line, with Pachyderm's LogMessage field names. */
export function logJsonLines(lines: readonly LogLine[]): string {
  return lines.map(logJsonLine).join('');
}

function logJsonLine(l: LogLine): string {
  return (
    JSON.stringify({
      pipeline_name: l.pipeline,
      job_id: l.job,
      datum_id: l.datum,
      user: l.stream !== 'system',
      stream: l.stream,
      ts: l.ts,
      message: l.message,
    }) + '\n'
  );
}

function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

function dropEmpty(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== false && v !== '') out[k] = v;
  return out;
}

// ─── workers ─────────────────────────────────────────────────────────────────────────────────

/** A worker's log line for one datum: `TIME WORKER PIPELINE@JOB DATUM OUTCOME MS [error]`. */
export function workerDatumLine(e: WorkerDatumEvent): string {
  return `${e.time} ${e.worker} ${e.pipeline}@${e.job} ${e.datum.slice(0, 12)} ${e.outcome} ${e.ms}ms${e.error ? ` ${e.error}` : ''}\n`;
}

// Human output of the project commands (hooks, lock, status, checkout, verify). The --json
// output is the result objects themselves; these only turn them into lines.
import * as path from 'node:path';
import { distinctIds, formatBytes } from '../ui/format.js';
import type { HookRunResult } from './hook-runner.js';
import type { InstallResult, UninstallResult } from './hooks.js';
import type { CheckoutAllResult, StatusResult } from './status.js';
import type { LockUpdateResult } from './sync.js';
import type { VerifyReport } from './verify.js';

const MAX_FILES_SHOWN = 20;

function short(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '-';
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
}

export function installView(r: InstallResult): string {
  return r.hooks
    .map((h) => `installed ${h.hook} hook${h.chained ? ` (runs the existing ${h.hook}.pre-tusk first)` : ''}${h.updated ? ' (updated)' : ''}`)
    .concat(`hooks directory: ${rel(r.hooksDir)}`)
    .join('\n');
}

export function uninstallView(r: UninstallResult): string {
  const lines = r.removed.map((h) => `removed ${h.hook} hook${h.restored ? ` (restored the hook it had replaced)` : ''}`);
  for (const f of r.foreign) lines.push(`left ${rel(f)} alone: not tusk's hook`);
  return lines.length > 0 ? lines.join('\n') : 'no tusk hooks were installed';
}

export function lockUpdateView(u: LockUpdateResult): string {
  const lines: string[] = [];
  for (const t of u.tracked) {
    if (t.action === 'committed') lines.push(`${t.path} → ${t.repo}@${t.branch}=${short(t.commit)} (${t.added} added, ${t.modified} modified, ${t.deleted} deleted)`);
    else if (t.action === 'missing') lines.push(`${t.path} is not here: keeping ${t.repo}@${t.branch}=${short(t.commit)}`);
  }
  for (const p of u.pipelines) if (p.action !== 'unchanged') lines.push(`pipeline ${p.name} ${p.action} (${p.spec})`);
  for (const o of u.outputs) if (o.state !== 'success') lines.push(`pipeline ${o.pipeline}: output ${short(o.commit)} ${o.state === 'running' ? 'still running (the next commit or `tusk lock` records it)' : `failed: ${o.error ?? ''}`}`);
  lines.push(`${rel(u.lock)} ${u.changed ? 'updated' : 'unchanged'} (${u.ms} ms)`);
  return lines.join('\n');
}

export function hookRunView(r: HookRunResult): string {
  if (r.noop) return process.env.TUSK_HOOK_DEBUG ? `tusk ${r.hook}: nothing changed (${r.ms} ms)` : '';
  const lines: string[] = [];
  if (r.update && (r.update.changed || r.update.tracked.some((t) => t.action === 'committed') || r.update.outputs.some((o) => o.state !== 'success')))
    lines.push(...lockUpdateView(r.update).split('\n'));
  for (const c of r.checkouts) lines.push(`checked out ${c.repo}@${short(c.commit)} into ${rel(c.dir)} (${c.written} written, ${c.removed} removed)`);
  lines.push(...r.notices);
  return lines.map((l) => `tusk: ${l}`).join('\n');
}

export function statusView(r: StatusResult): string {
  if (r.targets.length === 0) return 'nothing tracked (add track: entries to tusk.yaml)';
  const out: string[] = [];
  for (const t of r.targets) {
    const where = `${t.repo}@${t.branch ?? ''}=${short(t.commit)}${t.path === '/' ? '' : `:${t.path}`}`;
    out.push(`${rel(t.dir)} ↔ ${where}`);
    if (!t.exists) {
      out.push(`  not checked out here (${t.changes.length} files in the commit; tusk checkout)`);
      continue;
    }
    if (t.clean) out.push('  clean');
    for (const c of t.changes.slice(0, 200)) out.push(`  ${(c.change + ':').padEnd(10)} ${c.path}`);
    if (t.changes.length > 200) out.push(`  … and ${t.changes.length - 200} more`);
  }
  return out.join('\n');
}

export function checkoutView(r: CheckoutAllResult): string {
  if (r.checkouts.length === 0) return 'nothing to check out';
  return r.checkouts
    .map((c) => `${c.repo}@${c.branch ?? ''}=${short(c.commit)}${c.path === '/' ? '' : `:${c.path}`} → ${rel(c.dir)}: ${c.written} written (${formatBytes(c.bytes)}), ${c.removed} removed, ${c.unchanged} unchanged`)
    .join('\n');
}

export function verifyView(r: VerifyReport): string {
  const out: string[] = [`verify ${rel(r.lock)}${r.base ? ` (changes since ${r.base})` : ''}: ${r.pipelines.length} pipeline${r.pipelines.length === 1 ? '' : 's'}`];
  for (const i of r.inputs) if (!i.ok) out.push(`  input ${i.input}: ${i.problem}`);
  for (const p of r.pipelines) {
    const counts = p.reused > 0 ? `${p.reran} datums re-run, ${p.reused} unchanged` : `${p.reran} datum${p.reran === 1 ? '' : 's'} re-run`;
    if (p.status === 'ok') {
      out.push(`  ok      ${p.pipeline}: ${counts}, output matches (tree ${short(p.expectedTree)})`);
      continue;
    }
    out.push(`  ${p.status === 'skipped' ? 'skipped' : 'FAILED '} ${p.pipeline}: ${counts}`);
    for (const pr of p.problems) out.push(`      ${pr}`);
    for (const d of p.failedDatums) {
      out.push(`      datum ${short(d.datum)} (${d.inputs.join(', ')}) failed: ${d.error ?? ''}`);
      for (const l of d.log) out.push(`        | ${l}`);
    }
    for (const f of p.files.slice(0, MAX_FILES_SHOWN)) {
      const by = f.datum ? ` datum ${short(f.datum)}${f.datumInputs.length > 0 ? ` (${f.datumInputs.join(', ')})` : ''}` : '';
      if (f.kind === 'missing') out.push(`      ${f.path}:${by} locked ${short(f.expected)}, not produced`);
      else if (f.kind === 'extra') out.push(`      ${f.path}:${by} produced ${short(f.actual)}, not in the lock`);
      else {
        const [locked, got] = f.expected && f.actual ? distinctIds(f.expected, f.actual) : [short(f.expected), short(f.actual)];
        out.push(`      ${f.path}:${by} locked ${locked}, got ${got}${f.expectedSize !== undefined && f.actualSize !== undefined ? ` (${f.expectedSize} → ${f.actualSize} bytes)` : ''}`);
        if (f.firstDifference) out.push(`        first difference at byte ${f.firstDifference.offset}: locked "${f.firstDifference.expected}", got "${f.firstDifference.actual}"`);
      }
    }
    if (p.files.length > MAX_FILES_SHOWN) out.push(`      … and ${p.files.length - MAX_FILES_SHOWN} more files (--json lists all)`);
  }
  out.push(r.ok ? `all outputs reproduced (${r.ms} ms)` : `${r.pipelines.filter((p) => p.status === 'failed').length} of ${r.pipelines.length} pipelines did not reproduce (${r.ms} ms)`);
  return out.join('\n');
}

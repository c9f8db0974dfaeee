#!/usr/bin/env node
// Turn the JSON of a run (`node bench/run.js --json out.json`) into the Markdown tables of
// bench/README.md's "Last measured" section: node bench/markdown.js out.json
import * as fs from 'node:fs';
import { fmtBytes, fmtMs, fmtRatio, fmtRss } from './lib.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/markdown.js RESULTS.json\n');
  process.exit(2);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const m = r.machine;
const out = [];
const load = r.loadAverage ? `; load average ${r.loadAverage.start[0].toFixed(1)} at start, ${r.loadAverage.end[0].toFixed(1)} at end` : '';
const build = r.build ? ` tusk at commit ${r.build.commit}${r.build.srcChanges ? ` + ${r.build.srcChanges} changed files under src/` : ''}, dist/ built ${r.build.distBuilt.slice(0, 16).replace('T', ' ')} UTC.` : '';
out.push(`${r.mode} run of ${r.date.slice(0, 10)} (${r.date.slice(11, 16)} UTC): ${m.cpus} cores (${m.cpuModel}), ${m.memory} RAM, ${m.os}, node ${m.node}; ${r.runs} runs per cheap step; total ${fmtMs(r.totalMs)}${load}.${build}`);
out.push('');
out.push('| # | step | runs | time | ratio | peak RSS | store + | check |');
out.push('|---|---|---:|---:|---:|---:|---:|---|');
const cell = (s) => String(s ?? '').replace(/\|/g, '\\|');
for (const s of r.scenarios) {
  out.push(`| **${s.id}** | **${cell(s.title)}** | | | | | | |`);
  for (const row of s.rows) {
    const label = `${row.group ? `${row.group}: ` : ''}${row.label}${row.base ? ' (baseline)' : ''}`;
    out.push(`| | ${cell(label)} | ${row.times?.length ?? 1} | ${fmtMs(row.ms)} | ${row.base ? '1.00×' : fmtRatio(row.ratio)} | ${fmtRss(row.rssKiB)} | ${row.growth == null ? '' : fmtBytes(row.growth)} | ${cell(row.status)} |`);
  }
}
out.push('');
out.push('| # | target | measured | result |');
out.push('|---|---|---|---|');
for (const s of r.scenarios) for (const c of s.checks) out.push(`| ${s.id} | ${cell(c.name)}: ${cell(c.target)} | ${cell(c.actual)} | ${c.pass === true ? 'PASS' : c.pass === false ? '**FAIL**' : 'SKIP'} |`);
process.stdout.write(out.join('\n') + '\n');

// Fallback for peak RSS where GNU time is missing: run a command with inherited stdio, sample its
// VmHWM (the kernel's peak-RSS mark) from /proc every 10 ms, and write the last value in KiB.
// Usage: node bench/rss-wrap.js OUTFILE -- CMD ARGS...  (exits with the command's status)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

const [out, dashdash, ...argv] = process.argv.slice(2);
if (!out || dashdash !== '--' || argv.length === 0) {
  process.stderr.write('usage: rss-wrap.js OUTFILE -- CMD ARGS...\n');
  process.exit(2);
}
const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
let peak = 0;
const sample = () => {
  try {
    const m = /VmHWM:\s*(\d+)\s*kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) peak = Math.max(peak, Number(m[1]));
  } catch {
    // exited, or no /proc
  }
};
const timer = setInterval(sample, 10);
child.on('exit', (code, signal) => {
  clearInterval(timer);
  fs.writeFileSync(out, `${peak}\n`);
  process.exitCode = code ?? 128;
  if (signal) process.kill(process.pid, signal);
});

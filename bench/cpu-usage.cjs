// Preloaded into a measured tusk process (`node -r bench/cpu-usage.cjs bin/run.js …`): at exit it
// writes the process's own CPU time, every thread of it and none of its children, as
// `user system` in microseconds to $TUSK_BENCH_CPU_OUT. GNU time's figure includes the children
// it waited for; for a pipeline job that is every datum's command, which this leaves out.
'use strict';
const out = process.env.TUSK_BENCH_CPU_OUT;
if (out) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    require('node:fs').writeFileSync(out, `${u.user} ${u.system}\n`);
  });
}

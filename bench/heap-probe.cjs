// Preloaded into a tusk process (node -r bench/heap-probe.cjs): at exit, the main thread writes
// the size of V8's young generation (new space, both semi-spaces, bytes) to TUSK_BENCH_HEAP_OUT.
// A worker thread loads it too and writes nothing.
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const { isMainThread } = require('node:worker_threads');

const out = process.env.TUSK_BENCH_HEAP_OUT;
if (out && isMainThread) {
  process.on('exit', () => {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    fs.writeFileSync(out, `${space ? space.space_size : ''}\n`);
  });
}

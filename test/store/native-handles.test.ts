// The addon's handles defend themselves: every function given a value that is not the handle it
// takes (a plain object, the other kind of handle, an ended copy) throws a TypeError, and the
// process lives on. The calls run in a child process: a handle read as the wrong struct used to
// crash the process or hang it, which must fail this test rather than take the runner down.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasNativeCopy } from '../../src/store/native-io.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = path.join(root, 'dist', 'native', 'tusk-io.node');

// Runs in the child: every function of the addon, every wrong handle, one line of JSON per call.
const probe = `
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const io = require(process.argv[1]);
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-handles-')), 'out');
const fd = fs.openSync(file, 'w');
const gear = new Int32Array(256).map((_, i) => i * 2654435761);
const chunker = io.chunkerOpen(gear, 64, 256, 1024, 0xff, 0xfff);
const copy = io.copyOpen(fd);
const ended = io.copyOpen(fd);
io.copyEnd(ended, new Uint8Array(32));
const aborted = io.copyOpen(fd);
io.copyAbort(aborted);
const wrong = {
  'a plain object': {},
  'null': null,
  'a string': 'copy',
  'a Buffer': Buffer.alloc(64),
  'a chunker': chunker,
  'a copy': copy,
  'an ended copy': ended,
  'an aborted copy': aborted,
};
// [function, what it takes in the handle's place, the call with the handle h]
const calls = [
  ['copyRun', ['a copy'], (h) => io.copyRun(h, fd, 0, 0, new Int32Array(0), new Uint8Array(0))],
  ['copyBytes', ['a copy'], (h) => io.copyBytes(h, new Uint8Array(8))],
  ['copyEnd', ['a copy'], (h) => io.copyEnd(h, new Uint8Array(32))],
  ['copyAbort', ['a copy', 'an ended copy', 'an aborted copy'], (h) => io.copyAbort(h)],
  ['chunkerPush', ['a chunker'], (h) => io.chunkerPush(h, new Uint8Array(4096), false)],
  ['copyOpen', [], (h) => io.copyOpen(h)],
  ['chunkerOpen', [], (h) => io.chunkerOpen(h, 64, 256, 1024, 0xff, 0xfff)],
  ['fallocate', [], (h) => io.fallocate(h, 0, 4096)],
  ['readBatch', [], (h) => io.readBatch(h, new Float64Array(0), 0, 0, null)],
];
for (const [fn, accepts, call] of calls) {
  for (const [kind, h] of Object.entries(wrong)) {
    if (accepts.includes(kind)) continue;
    let outcome = 'returned';
    try {
      call(h);
    } catch (e) {
      outcome = e instanceof TypeError ? 'TypeError' : 'threw ' + e;
    }
    process.stdout.write(JSON.stringify({ fn, kind, outcome }) + '\\n');
  }
}
// the right handles still work after all that
const [ends] = io.chunkerPush(chunker, new Uint8Array(5000).fill(1), true);
process.stdout.write(JSON.stringify({ fn: 'chunkerPush', kind: 'its chunker', outcome: ends.length > 0 ? 'works' : 'no chunks' }) + '\\n');
const digest = new Uint8Array(32);
process.stdout.write(JSON.stringify({ fn: 'copyEnd', kind: 'its copy', outcome: io.copyBytes(copy, new Uint8Array(10)) === 0 && io.copyEnd(copy, digest) === 0 ? 'works' : 'failed' }) + '\\n');
`;

describe('native-io handles', () => {
  it.runIf(hasNativeCopy())('refuses every value that is not the handle a function takes, with a TypeError, and survives', () => {
    // a crash or a hang fails here (the hang by the child's own limit, far above the milliseconds it takes)
    const r = spawnSync(process.execPath, ['-e', probe, addonPath], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, `the child died: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { fn: string; kind: string; outcome: string });
    const wrong = lines.filter((l) => !l.kind.startsWith('its '));
    // 5 handle-taking functions against 8 values less the ones each accepts, and 4 that take none against all 8
    expect(wrong).toHaveLength(7 + 7 + 7 + 5 + 7 + 4 * 8);
    expect(wrong.filter((l) => l.outcome !== 'TypeError')).toEqual([]);
    expect(lines.filter((l) => l.kind.startsWith('its '))).toEqual([
      { fn: 'chunkerPush', kind: 'its chunker', outcome: 'works' },
      { fn: 'copyEnd', kind: 'its copy', outcome: 'works' },
    ]);
  });
});

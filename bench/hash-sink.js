// Read stdin to the end, writing "SHA-1 BYTES" of it to OUTFILE: a reader that keeps nothing.
// Usage: ... | node bench/hash-sink.js OUTFILE
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const h = createHash('sha1');
let n = 0;
process.stdin.on('data', (b) => {
  h.update(b);
  n += b.length;
});
process.stdin.on('end', () => fs.writeFileSync(process.argv[2], `${h.digest('hex')} ${n}\n`));

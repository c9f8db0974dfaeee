// Write BYTES of seeded incompressible data (AES-CTR keystream, as lib.js keystream) to stdout,
// then the SHA-1 of what was written to HASHFILE. Usage: node bench/gen-stream.js SEED BYTES HASHFILE
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { keystream } from './lib.js';

const [seed, bytesArg, hashFile] = process.argv.slice(2);
const total = Number(bytesArg);
const ks = keystream(seed);
const h = createHash('sha1');
const BLOCK = 1 << 20;
let done = 0;
const out = process.stdout;
function pump() {
  while (done < total) {
    const b = ks(Math.min(BLOCK, total - done));
    h.update(b);
    done += b.length;
    if (!out.write(b)) return void out.once('drain', pump);
  }
  out.end(() => fs.writeFileSync(hashFile, `${h.digest('hex')} ${done}\n`));
}
pump();

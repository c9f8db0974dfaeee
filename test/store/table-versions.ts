// Versions of a CSV table, each with 1% of its rows edited at random: the workload deltas are for.
import { mulberry32 } from '../../src/ml/rng.js';

const REGIONS = ['north', 'south', 'east', 'west'];

/** `count` versions of a table of about `bytes` bytes; version i+1 is version i with 1% of rows rewritten. */
export function tableVersions(bytes: number, count: number, seed = 7): Buffer[] {
  const rnd = mulberry32(seed);
  const row = (i: number) =>
    `${i},${(rnd() * 1e6).toFixed(2)},${REGIONS[Math.floor(rnd() * 4)]},${Math.floor(rnd() * 1e9)},customer-${Math.floor(rnd() * 1e5)}@example.com\n`;
  const rows: string[] = [];
  for (let size = 0; size < bytes; ) {
    const r = row(rows.length);
    rows.push(r);
    size += r.length;
  }
  const out = [Buffer.from(rows.join(''))];
  for (let v = 1; v < count; v++) {
    for (let k = 0; k < rows.length / 100; k++) {
      const i = Math.floor(rnd() * rows.length);
      rows[i] = row(i);
    }
    out.push(Buffer.from(rows.join('')));
  }
  return out;
}

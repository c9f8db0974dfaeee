// The `--json` form of a streamed listing: one array, written an element at a time.
import type { RowStream } from './table.js';

// `JSON.stringify(rows, null, 2) + '\n'` (what logJson prints), one element at a time: a
// one-element array, stringified, is `[\n  ` + the element already indented + `\n]`, so its middle is
// the piece, with no second pass over the text. (Re-indenting `JSON.stringify(row, null, 2)` with a
// replace instead allocated ~2 KiB per row, twice the table's: over a million rows V8 promoted
// enough of it to leave ~17 MiB more of dead old generation and pages' buffers in the peak RSS.)
// After the first element, a `,` goes out as a piece of its own before the text past the `[`:
// joining them would copy the element once more.
export function jsonArray(): RowStream<unknown> {
  let n = 0;
  return {
    row: (row, out) => {
      const one = JSON.stringify([row], null, 2);
      if (n++ === 0) out.push(one.slice(0, -2));
      else out.push(',', one.slice(1, -2));
    },
    end: (out) => void out.push(n === 0 ? '[]\n' : '\n]\n'),
  };
}

// What an output path names on this machine. Output to a file goes through a temporary file and
// a rename, so a failed read never leaves half a file where a good one was; but a path that names
// a device (`-o /dev/null`), a FIFO or a socket must never be renamed over or removed: run as
// root, a rename over /dev/null replaces the device with a regular file for every process on the
// machine.
import * as fs from 'node:fs';

/** What `file` names when it exists and is neither a regular file nor a directory (followed through links). */
export function specialFileKind(file: string): 'device' | 'fifo' | 'socket' | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return undefined;
}

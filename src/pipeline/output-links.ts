// Symbolic links a transform leaves in /pfs/out, judged as Pachyderm does: a link that resolves
// inside the datum's inputs is that input file (its content id, nothing read or uploaded; the
// real content also when the input was laid out with empty_files); a link into the output itself
// is read through; a link that resolves anywhere else, or nowhere, is not uploaded and the datum
// says so. Links are resolved as the code saw them: `/pfs/...` means this datum's pfs directory,
// whether or not the code ran in a namespace.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromHex, type NodeId } from '../store/hash.js';
import type { LinkTarget, StoreHandle } from '../store/store-handle.js';
import type { DatumFile } from './datums.js';

/** As the kernel's limit on links followed in one lookup (ELOOP). */
const MAX_HOPS = 40;

/** The resolver writeLocalTree calls for each link (and each file reached through one) in `pfsDir/out`. */
export function outputLinkResolver(s: StoreHandle, files: readonly DatumFile[], pfsDir: string): (local: string) => LinkTarget {
  const root = fs.realpathSync(pfsDir);
  const out = path.join(root, 'out');
  const byName = new Map<string, DatumFile[]>();
  for (const f of files) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  // what the code called it: /pfs/out/x, not the scratch path
  const shown = (p: string) => {
    for (const base of [pfsDir, root]) if (p === base || p.startsWith(`${base}/`)) return `/pfs${p.slice(base.length)}`;
    return p;
  };

  return (local) => {
    const link = readLink(local);
    const what = link === undefined ? shown(local) : `${shown(local)} → ${path.isAbsolute(link) ? shown(link) : link}`;
    const real = resolvePath(root, local);
    if (real === undefined) return { kind: 'skip', message: `dangling symbolic link ${what}: not uploaded` };
    let isDir: boolean;
    try {
      isDir = fs.statSync(real).isDirectory();
    } catch {
      return { kind: 'skip', message: `dangling symbolic link ${what}: not uploaded` };
    }
    if (real === out || real.startsWith(`${out}/`)) return { kind: 'output', real, isDir };
    const outside: Extract<LinkTarget, { kind: 'skip' }> = { kind: 'skip', message: `symbolic link ${what} points outside the datum's inputs: not uploaded` };
    if (!real.startsWith(`${root}/`)) return outside;
    const rel = real.slice(root.length + 1);
    const slash = rel.indexOf('/');
    const name = slash < 0 ? rel : rel.slice(0, slash);
    const repoPath = slash < 0 ? '/' : rel.slice(slash);
    const inputs = byName.get(name);
    if (!inputs) return outside;
    // a directory of an input: entered, and each of its files judged on its own
    if (isDir) return { kind: 'input-dir', real };
    // the input directories the path lies below: their trees are read when the walk gets there
    const below: { dir: NodeId; path: string }[] = [];
    for (const f of inputs) {
      if (f.type === 'file') {
        if (f.path === repoPath) {
          const found = { id: fromHex(f.hash), size: f.size };
          return { kind: 'input-file', lookup: () => Promise.resolve(found), otherwise: outside.message };
        }
        continue;
      }
      const rest = f.path === '/' ? repoPath : repoPath.startsWith(`${f.path}/`) ? repoPath.slice(f.path.length) : undefined;
      if (rest !== undefined) below.push({ dir: fromHex(f.hash) as NodeId, path: rest });
    }
    // a file the code added next to its inputs is none of them
    if (below.length === 0) return outside;
    const lookup = async () => {
      for (const b of below) {
        const e = await s.lookupPath(b.dir, b.path);
        if (e?.kind === 'file') return { id: e.id, size: e.size };
      }
      return undefined;
    };
    return { kind: 'input-file', lookup, otherwise: outside.message };
  };
}

function readLink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** The real path of `p`, following links component by component with `/pfs` meaning `pfsRoot`; undefined when a link dangles or loops. */
function resolvePath(pfsRoot: string, p: string): string | undefined {
  let hops = 0;
  const walk = (abs: string): string | undefined => {
    let cur = '/';
    for (const part of abs.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        cur = path.dirname(cur);
        continue;
      }
      const next = path.join(cur, part);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(next);
      } catch {
        return undefined;
      }
      if (!st.isSymbolicLink()) {
        cur = next;
        continue;
      }
      if (++hops > MAX_HOPS) return undefined;
      const t = fs.readlinkSync(next);
      const target = t === '/pfs' || t.startsWith('/pfs/') ? pfsRoot + t.slice(4) : path.isAbsolute(t) ? t : path.join(cur, t);
      const r = walk(target);
      if (r === undefined) return undefined;
      cur = r;
    }
    return cur;
  };
  return walk(p);
}

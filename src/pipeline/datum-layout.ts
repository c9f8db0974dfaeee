// Laying out a datum's inputs in a scratch slot before its command runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatumRecord } from '../store/job-records.js';
import type { StoreHandle } from '../store/store-handle.js';
import type { DatumFile } from './datums.js';
import { materializeDatum, type InputsAhead, type PriorContent } from './materialize.js';
import type { PreviousRun, PreviousRuns } from './previous-run.js';
import type { ScratchSlot } from './scratch.js';
import type { PipelineSpec } from './spec-types.js';

/** What laying out a datum read: the bytes that came from packs. */
export type LaidOut = { downloaded: number };

const realDirs = new WeakMap<StoreHandle, string>();
/**
 * The store directory with every link resolved: datum scratch lies below it, and the namespace
 * that hides the store from user code compares the two paths as they really are.
 */
export function realStoreDir(s: StoreHandle): string {
  let d = realDirs.get(s);
  if (!d) realDirs.set(s, (d = fs.realpathSync(s.path)));
  return d;
}

/** Directories (relative to pfs/) a datum's inputs live in: its worker's scratch keeps them. */
function inputDirs(files: readonly DatumFile[]): string[] {
  return files.map((f) => (f.type === 'file' ? path.posix.dirname(`${f.name}${f.window ? `/${f.commit}` : ''}${f.path}`) : `${f.name}${f.path === '/' ? '' : f.path}`));
}

/**
 * Empty a slot for this datum and lay out its inputs; returns the bytes read from packs. `share`:
 * the transform cannot write its inputs, so they may be links into the input cache.
 */
export async function layOut(s: StoreHandle, spec: PipelineSpec, earlier: PreviousRuns, datum: string, files: readonly DatumFile[], slot: ScratchSlot, share: boolean, ahead?: InputsAhead): Promise<number> {
  const dirs = inputDirs(files);
  const present = slot.prepare(dirs);
  // shared inputs sit on a read-only /pfs: the slot may remove exactly these files next time
  const placed: string[] | undefined = share && files.every((f) => f.type === 'file') ? [] : undefined;
  const downloaded = await materializeDatum(s, files, slot.pfsDir, present, share, appendedSince(spec, earlier, datum, files), placed, ahead);
  if (placed) slot.laidOut(dirs, placed);
  return downloaded;
}

/**
 * Input files this datum had in its last run that were only appended to since, with what they
 * held then: each is laid out as its cached earlier copy plus the new bytes. Asked only when a
 * file is not in the cache (reading it from packs costs more than looking the last run up).
 */
function appendedSince(spec: PipelineSpec, earlier: PreviousRuns, datum: string, files: readonly DatumFile[]): (f: DatumFile) => Promise<PriorContent | undefined> {
  let prev: PreviousRun | undefined | null = null;
  const lookUp = async (): Promise<PreviousRun | undefined> => {
    try {
      return spec.reprocess_spec === 'every_job' ? undefined : await earlier.of(datum, files);
    } catch {
      return undefined; // laid out whole: the transform reports what cannot be read
    }
  };
  return async (f) => {
    if (f.type !== 'file' || f.window) return undefined;
    if (prev === null) prev = await lookUp();
    const c = prev?.inputs.get(`/pfs/${f.name}${f.path}`);
    return c?.change === 'appended' ? { hash: c.beforeHash, size: c.before } : undefined;
  };
}

/**
 * Lay out a datum's inputs ahead of its first attempt, with what was looked up for its batch;
 * undefined: the attempt does it (and reports what fails).
 */
export async function prefetch(s: StoreHandle, spec: PipelineSpec, earlier: PreviousRuns, d: DatumRecord, slot: ScratchSlot, share: boolean, ahead?: InputsAhead): Promise<LaidOut | undefined> {
  try {
    return { downloaded: await layOut(s, spec, earlier, d.id, d.inputs, slot, share, ahead) };
  } catch {
    return undefined;
  }
}

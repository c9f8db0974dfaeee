// Where a pipeline spec comes from: `-f FILE` or stdin (`-f -`, the default), and the directory
// its relative paths (scripts, working_dir) resolve against.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { localFileError } from '../errors.js';
import { projectWorkdir, tryFindProject, type WorkdirRule } from '../app/api.js';

/** A spec's text, where it was read from (for messages) and the directory it lives in. */
export interface SpecSource {
  text: string;
  source: string;
  baseDir: string;
}

/** Read a spec file, or stdin for `-`; stdin specs resolve paths against the working directory. */
export async function readSpecSource(file: string): Promise<SpecSource> {
  if (file === '-') {
    const parts: Buffer[] = [];
    for await (const chunk of process.stdin) parts.push(Buffer.from(chunk as Buffer));
    return { text: Buffer.concat(parts).toString('utf8'), source: 'stdin', baseDir: process.cwd() };
  }
  const abs = path.resolve(file);
  try {
    return { text: fs.readFileSync(abs, 'utf8'), source: file, baseDir: path.dirname(abs) };
  } catch (err) {
    throw localFileError(err, file);
  }
}

/**
 * Where the pipelines of a spec run (the image WORKDIR's local stand-in): `--workdir` (relative
 * to the working directory) for all of them, else what the tusk.yaml around the spec file says
 * for its entry or its image.
 */
export function workdirRule(flag: string | undefined, spec: SpecSource): WorkdirRule | undefined {
  if (flag !== undefined) {
    const abs = path.resolve(flag);
    return () => abs;
  }
  const project = tryFindProject(spec.source === 'stdin' ? process.cwd() : spec.baseDir);
  return project ? projectWorkdir(project, spec.source === 'stdin' ? undefined : path.resolve(spec.source)) : undefined;
}

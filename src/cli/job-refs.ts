// Job addresses: `pipeline@job-id` (PACHYDERM.md 5.2), and the bare job id some commands take.

import { InvalidArgumentError } from '../errors.js';
import { isCommitId, validateName } from '../app/api.js';
import { pipelineMsg } from '../ui/messages.js';

/** A job: its pipeline and id (the id of the commit set that created it). */
export interface JobRef {
  pipeline: string;
  id: string;
}

/** `pipeline@job-id`. A bare id is refused with pachctl's pointer to `list job <id>`. */
export function parseJobRef(arg: string): JobRef {
  const at = arg.indexOf('@');
  if (at < 0) {
    if (isCommitId(arg)) throw new InvalidArgumentError(pipelineMsg.jobIdAlone(arg), pipelineMsg.jobIdAloneHint(arg));
    throw new InvalidArgumentError(pipelineMsg.jobFormat(arg), pipelineMsg.jobFormatHint);
  }
  const pipeline = arg.slice(0, at);
  const id = arg.slice(at + 1);
  if (pipeline === '') throw new InvalidArgumentError(pipelineMsg.jobNoPipeline(arg), pipelineMsg.jobNoPipelineHint);
  if (id === '' || id.includes('@')) throw new InvalidArgumentError(pipelineMsg.jobFormat(arg), pipelineMsg.jobFormatHint);
  return { pipeline: validateName('pipeline', pipeline), id };
}

/** `pipeline@job-id`, or a bare job id meaning every job of that commit set (`pipeline` undefined). */
export function parseJobOrSet(arg: string): { pipeline?: string; id: string } {
  if (arg.includes('@')) return parseJobRef(arg);
  if (!isCommitId(arg)) throw new InvalidArgumentError(pipelineMsg.jobOrId(arg), pipelineMsg.jobOrIdHint);
  return { id: arg };
}

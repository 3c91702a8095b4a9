// Job ids: safe in a path component and in any shell, checked again by every remote helper.
import { randomBytes } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { InvalidInputError } from '../errors.js';

/** The documented id pattern: 1-128 characters from [A-Za-z0-9._-], starting with a letter or digit, no `..`. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A task of an array: `ID/N` (N without leading zeros). */
export const TASK_ID_PATTERN = /^([^/]+)\/(0|[1-9][0-9]{0,8})$/;

/** A job's or an array task's id (`ID/N`): what the commands that name jobs take. */
export function checkJobId(id: string): string {
  const task = TASK_ID_PATTERN.exec(id);
  checkNewJobId(task ? task[1]! : id);
  return id;
}

/** The id of a job or array to be made: no task id. */
export function checkNewJobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id) || id.includes('..')) {
    throw new InvalidInputError(`invalid job id ${JSON.stringify(id)}`, {
      hint: 'a job id is 1-128 characters from A-Z a-z 0-9 . _ -, starts with a letter or digit and has no ".."',
    });
  }
  return id;
}

function slug(text: string): string {
  const s = text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40);
  return s.replace(/[._-]+$/, '') || 'job';
}

/** Default id `<dirname>_<user>_<random>`, made safe whatever the directory and user are called. */
export function defaultJobId(dir: string, user = userInfo().username): string {
  return `${slug(basename(resolve(dir)))}_${slug(user)}_${randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
}

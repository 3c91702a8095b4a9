// The local side of a resumable download: DEST.tej-partial holds the bytes received so far, always a
// prefix of the remote file (written in order), and DEST.tej-partial.json what they are a prefix of
// (host, job, remote path, size, mtime). A partial whose note does not match the remote file now is
// started again from zero. Neither is a temporary file: an interrupted download leaves both on purpose,
// and the next run completes them (the file renamed into place, the note removed).
import { createReadStream, closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { CantCreateError } from '../errors.js';

export const PARTIAL_SUFFIX = '.tej-partial';
export const NOTE_SUFFIX = '.tej-partial.json';

/** What a partial is a prefix of. */
export interface PartialNote {
  host: string;
  id: string;
  /** The remote file's physical path. */
  source: string;
  size: number;
  mtime: number;
}

function sameNote(a: PartialNote, b: unknown): boolean {
  const o = b as Partial<PartialNote> | null;
  return !!o && o.host === a.host && o.id === a.id && o.source === a.source && o.size === a.size && o.mtime === a.mtime;
}

/** Opens without following a symlink at the last component (a link planted under the partial's name is refused). */
function openNoFollow(path: string, flags: number, mode = 0o600): number {
  try {
    return openSync(path, flags | constants.O_NOFOLLOW | constants.O_NOCTTY, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw new CantCreateError(`cannot write '${path}': it is a symlink`, { hint: 'remove it, then download again' });
    throw e;
  }
}

/** The length of a partial that `note` describes (0 when there is none, or it is of something else). */
export function resumableLength(dest: string, note: PartialNote): number {
  try {
    const st = lstatSync(dest + PARTIAL_SUFFIX);
    if (!st.isFile() || st.size > note.size) return 0;
    return sameNote(note, JSON.parse(readFileSync(dest + NOTE_SUFFIX, 'utf8'))) ? st.size : 0;
  } catch {
    return 0; // no partial, no note, a note torn or unreadable: from zero
  }
}

/** Whether a partial of `dest` is there (of whatever). */
export function hasPartial(dest: string): boolean {
  try {
    return lstatSync(dest + PARTIAL_SUFFIX).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes the note, then opens the partial for writing at `offset` (0: emptied). The note goes first: a
 * partial never exists without the note that says what it holds.
 */
export function openPartial(dest: string, note: PartialNote, offset: number, mode: number): number {
  const there = (() => {
    try {
      return lstatSync(dest + PARTIAL_SUFFIX);
    } catch {
      return undefined;
    }
  })();
  if (there?.isSymbolicLink()) throw new CantCreateError(`cannot write '${dest}${PARTIAL_SUFFIX}': it is a symlink`, { hint: 'remove it, then download again' });
  const noteFd = openNoFollow(dest + NOTE_SUFFIX, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  try {
    writeSync(noteFd, `${JSON.stringify(note)}\n`);
  } finally {
    closeSync(noteFd);
  }
  const flags = constants.O_WRONLY | constants.O_CREAT | (offset === 0 ? constants.O_TRUNC : 0);
  const fd = openNoFollow(dest + PARTIAL_SUFFIX, flags, mode);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new CantCreateError(`cannot write '${dest}${PARTIAL_SUFFIX}': it is not a regular file`, { hint: 'remove it, then download again' });
  }
  return fd;
}

/** Removes the partial and its note (a partial found bad: the next run starts from zero). */
export function dropPartial(dest: string): void {
  for (const p of [dest + PARTIAL_SUFFIX, dest + NOTE_SUFFIX]) {
    try {
      unlinkSync(p);
    } catch {
      // not there
    }
  }
}

/** The sha256 of a local file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

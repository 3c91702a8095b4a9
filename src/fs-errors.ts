// Node's file system errors (ErrnoException: code, syscall, path) as TejErrors: one line that names the
// path and what is wrong, the fix as the hint, and a sysexits code (66 no input, 73 cannot create,
// 74 I/O error, 77 permission, 65 bad input). The library maps where it knows what it was doing; the CLI
// maps whatever else reaches it, so that no local error is reported as a bug in tej.
import { CantCreateError, InvalidInputError, LocalIoError, LocalPathNotFoundError, LocalPermissionError, TejError } from './errors.js';

export interface FsErrorContext {
  /** What tej was doing, for the message: 'write', 'read', 'create the directory'. */
  doing?: string;
  /** The path to name when the error's own is not the one the user gave. */
  path?: string;
  /** Whether the path was to be written (a directory there is "cannot create") or read. */
  write?: boolean;
}

const WRITE_CALLS = new Set(['mkdir', 'rename', 'symlink', 'write', 'writev', 'unlink', 'rmdir', 'copyfile', 'link', 'ftruncate']);

export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Maps a file system error to a TejError; anything else is returned as it is. */
export function fromFsError(e: unknown, context: FsErrorContext = {}): unknown {
  if (e instanceof TejError) return e;
  if (e instanceof TypeError && (e as NodeJS.ErrnoException).code === 'ERR_INVALID_ARG_VALUE' && /null bytes/.test(e.message)) {
    return new InvalidInputError('a path holds a NUL byte, which no file name can', { cause: e });
  }
  // Only errors about a path: a socket's ECONNREFUSED is the transport's to explain.
  if (!isFsError(e) || (e.path === undefined && context.path === undefined)) return e;
  const path = context.path ?? e.path!;
  const write = context.write ?? WRITE_CALLS.has(e.syscall!);
  const doing = context.doing ?? (write ? 'write' : 'read');
  const dest = (e as NodeJS.ErrnoException & { dest?: string }).dest;
  const where = dest && !context.path ? ` (to '${dest}')` : '';
  const at = `'${path}'${where}`;
  // Node reads a name that is not UTF-8 with U+FFFD in it, and then cannot find it by that name.
  if (e.code === 'ENOENT' && path.includes('\uFFFD')) {
    return new InvalidInputError(`the file name '${path}' is not valid UTF-8, which tej cannot handle`, {
      cause: e,
      hint: 'rename it (convmv, or mv with the name as the shell shows it), or leave it out with --exclude or .tejignore',
    });
  }
  switch (e.code) {
    case 'ENOENT':
      return write
        ? new CantCreateError(`cannot ${doing} ${at}: a directory on its path does not exist`, { cause: e, hint: 'create the directory first, or choose another path' })
        : new LocalPathNotFoundError(`cannot ${doing} ${at}: no such file or directory`, { cause: e, hint: 'check the path' });
    case 'EACCES':
    case 'EPERM':
      return new LocalPermissionError(`cannot ${doing} ${at}: permission denied`, { cause: e, hint: `check its permissions and its directory's (ls -ld '${path}')` });
    case 'EISDIR':
      return write
        ? new CantCreateError(`cannot ${doing} ${at}: it is a directory`, { cause: e, hint: 'name a file, or the directory to write into with a trailing /' })
        : new InvalidInputError(`cannot ${doing} ${at}: it is a directory, not a file`, { cause: e, hint: 'name a file' });
    case 'ENOTDIR':
    case 'EEXIST':
      return new CantCreateError(`cannot ${doing} ${at}: a file is in the way (a directory on its path is a file, or the path exists)`, {
        cause: e,
        hint: 'move the file out of the way, or choose another path',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new LocalIoError(`cannot ${doing} ${at}: no space left on the device${e.code === 'EDQUOT' ? ' (disk quota exceeded)' : ''}`, {
        cause: e,
        hint: 'free some space, or choose another file system',
      });
    case 'EROFS':
      return new CantCreateError(`cannot ${doing} ${at}: the file system is read-only`, { cause: e, hint: 'choose another path' });
    case 'ENXIO':
    case 'ENODEV':
    case 'ETXTBSY':
      return new CantCreateError(`cannot ${doing} ${at}: it is not a file that can be opened (${e.code})`, { cause: e, hint: 'choose another path' });
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new InvalidInputError(`cannot ${doing} ${at}: ${e.code === 'ELOOP' ? 'too many levels of symlinks' : 'the name is too long'}`, { cause: e, hint: 'choose another path' });
    default:
      return new LocalIoError(`cannot ${doing} ${at}: ${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}`, { cause: e, hint: 'check the disk and the path' });
  }
}

// Remote exit status -> error class. The numbers mirror remote-scripts/lib/common.sh (EX_*), which a unit
// test compares with errors.ts's EXIT table.
import {
  AuthenticationError,
  EXIT,
  InvalidInputError,
  JobExistsError,
  JobNotFoundError,
  JobRunningError,
  ProtocolError,
  RemoteCommandError,
  RemoteIOError,
  RemoteUnavailableError,
  TejError,
  UsageError,
  type RemoteDetail,
} from '../errors.js';

type ErrorClass = new (message: string, options?: { remote?: RemoteDetail; hint?: string }) => TejError;

const BY_STATUS: Record<number, ErrorClass> = {
  [EXIT.USAGE]: UsageError,
  [EXIT.DATAERR]: InvalidInputError,
  [EXIT.NOINPUT]: JobNotFoundError,
  [EXIT.UNAVAILABLE]: RemoteUnavailableError,
  [EXIT.CANTCREAT]: JobExistsError,
  [EXIT.IOERR]: RemoteIOError,
  [EXIT.TEMPFAIL]: JobRunningError,
  [EXIT.PROTOCOL]: ProtocolError,
  [EXIT.NOPERM]: AuthenticationError,
};

/** The helpers' own messages are `tej-remote: ...` lines on stderr; the first one names the problem. */
export function remoteError(host: string, remote: RemoteDetail, fallback: string): TejError {
  const lines = remote.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const own = lines.find((l) => l.startsWith('tej-remote: '));
  const message = own ? `${own.slice('tej-remote: '.length)} (on ${host})` : `${fallback} on ${host} (exit ${remote.code ?? 'signal'})`;
  const Class = (remote.code !== null && BY_STATUS[remote.code]) || RemoteCommandError;
  const rest = lines.filter((l) => l !== own).join('\n');
  return new Class(message, { remote, hint: rest || undefined });
}

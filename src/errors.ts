// Every expected failure is a TejError subclass with a stable code and exit status.
// This file is the only place exit codes are defined on the TypeScript side (besides the codes of the job
// states that `tej status` exits with: STATUS_EXIT in job/status.ts); the remote helpers use the same
// numbers (remote-scripts/lib/common.sh), and a unit test keeps the tables and the README in step.

export interface RemoteDetail {
  command: string;
  code: number | null;
  stderr: string;
}

export interface TejErrorOptions {
  cause?: unknown;
  remote?: RemoteDetail;
  /** What the user can do about it, printed under the message. */
  hint?: string;
}

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
  /** 128 + SIGINT, as a shell reports it. */
  INTERRUPTED: 130,
  /** 128 + SIGTERM. */
  TERMINATED: 143,
} as const;

export class TejError extends Error {
  code = 'E_TEJ';
  exitCode: number = EXIT.FAILURE;
  /** Read by p-retry's shouldRetry: only transient network failures are retried. */
  retryable = false;
  readonly remote?: RemoteDetail;
  readonly hint?: string;

  constructor(message: string, options: TejErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.remote = options.remote;
    this.hint = options.hint;
  }
}

/** A remote helper failed in a way the protocol does not describe. */
export class RemoteCommandError extends TejError {
  override code = 'E_REMOTE';
}
export class UsageError extends TejError {
  override code = 'E_USAGE';
  override exitCode = EXIT.USAGE;
}
/** Bad job id, bad destination, bad download spec, bad job directory. */
export class InvalidInputError extends TejError {
  override code = 'E_INVALID_INPUT';
  override exitCode = EXIT.DATAERR;
}
export class JobNotFoundError extends TejError {
  override code = 'E_JOB_NOT_FOUND';
  override exitCode = EXIT.NOINPUT;
}
/** A file or directory that the job's directory does not hold (the job itself exists). */
export class JobFileNotFoundError extends TejError {
  override code = 'E_JOB_FILE_NOT_FOUND';
  override exitCode = EXIT.NOINPUT;
}
/** A local path (job directory, key file) that does not exist. */
export class LocalPathNotFoundError extends TejError {
  override code = 'E_LOCAL_NOT_FOUND';
  override exitCode = EXIT.NOINPUT;
}
/** The queue is not set up, not a tej queue, or its plugin cannot run (no sbatch). */
export class RemoteUnavailableError extends TejError {
  override code = 'E_UNAVAILABLE';
  override exitCode = EXIT.UNAVAILABLE;
}
/** No queue at the path asked for on the host (only setup and submit create one). */
export class NoQueueError extends RemoteUnavailableError {}
export class JobExistsError extends TejError {
  override code = 'E_JOB_EXISTS';
  override exitCode = EXIT.CANTCREAT;
}
/** The host could not write what it was sent (its disk is full). */
export class RemoteIOError extends TejError {
  override code = 'E_REMOTE_IO';
  override exitCode = EXIT.IOERR;
}
export class ConnectionError extends TejError {
  override code = 'E_CONNECTION';
  override exitCode = EXIT.TEMPFAIL;
  override retryable = true;
}
export class JobRunningError extends TejError {
  override code = 'E_JOB_RUNNING';
  override exitCode = EXIT.TEMPFAIL;
}
export class ProtocolError extends TejError {
  override code = 'E_PROTOCOL';
  override exitCode = EXIT.PROTOCOL;
}
/** Authentication failed, host key unknown or changed, permission denied: never retried. */
export class AuthenticationError extends TejError {
  override code = 'E_AUTH';
  override exitCode = EXIT.NOPERM;
}
export class HostKeyError extends AuthenticationError {
  override code = 'E_HOST_KEY';
}
export class ConfigError extends TejError {
  override code = 'E_CONFIG';
  override exitCode = EXIT.CONFIG;
}
/** A local file or directory cannot be created or written where asked (a file in the way, a directory). */
export class CantCreateError extends TejError {
  override code = 'E_CANT_CREATE';
  override exitCode = EXIT.CANTCREAT;
}
/** A local read or write failed (a full disk, an I/O error). */
export class LocalIoError extends TejError {
  override code = 'E_LOCAL_IO';
  override exitCode = EXIT.IOERR;
}
/** A local file or directory that this user may not read or write. */
export class LocalPermissionError extends TejError {
  override code = 'E_LOCAL_PERMISSION';
  override exitCode = EXIT.NOPERM;
}

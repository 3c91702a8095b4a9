// SFTP on the session's own SSH connection: a channel running the host's `sftp` subsystem, no second login.
// A thin promise adapter over ssh2's SFTPWrapper. Not ssh2-sftp-client, which the design card names: it
// always makes its own ssh2 Client (new Client() in its constructor, connect() logs in again) and has no
// way to take an existing one; its end() ends the whole connection; and it loads ssh2's full index
// (server, HTTP agents, keygen) beside tej's lean bundle. TCP_NODELAY is the connection's (src/ssh/dial.ts).
import type { Client, FileEntry, SFTPWrapper, Stats } from 'ssh2';
import { RemoteUnavailableError } from '../errors.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02), as ssh2 puts them on its errors' `code`. */
export const SFTP_STATUS = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, OP_UNSUPPORTED: 8 } as const;

/** The host has no SFTP subsystem (or refused it, or lacks a request tej needs): callers use the shell instead. */
export class SftpUnavailableError extends RemoteUnavailableError {}

/** An SFTP failure's status code, when it has one. */
export function sftpCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

type Cb<T> = (err: Error | undefined | null, value: T) => void;

export class Sftp {
  /** Rejects when the SFTP channel closes (the connection dropped, or end()). */
  readonly gone: Promise<never>;

  constructor(
    private readonly sftp: SFTPWrapper,
    readonly label: string,
  ) {
    this.gone = new Promise<never>((_, reject) => sftp.once('close', () => reject(new Error(`the SFTP channel to ${label} closed`))));
    this.gone.catch(() => undefined);
  }

  /** One request; fails when the channel closes first (ssh2 never answers a request made after that). */
  private call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
    return Promise.race([new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value)))), this.gone]);
  }

  realpath(path: string): Promise<string> {
    return this.call((cb) => this.sftp.realpath(path, cb));
  }

  /** lstat: the entry itself (a symlink is reported as one); undefined when there is none. */
  lstat(path: string): Promise<Stats | undefined> {
    return this.call<Stats>((cb) => this.sftp.lstat(path, cb)).catch((e) => orMissing(e));
  }

  /** stat: what the path resolves to; undefined when there is none. */
  stat(path: string): Promise<Stats | undefined> {
    return this.call<Stats>((cb) => this.sftp.stat(path, cb)).catch((e) => orMissing(e));
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.call((cb) => this.sftp.mkdir(path, { mode }, (e) => cb(e, undefined)));
  }

  readdir(path: string): Promise<FileEntry[]> {
    return this.call((cb) => this.sftp.readdir(path, cb));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.call((cb) => this.sftp.chmod(path, mode, (e) => cb(e, undefined)));
  }

  /** A new file (never an existing one: O_EXCL) with `mode` and `data`. */
  async writeNew(path: string, data: Uint8Array, mode: number): Promise<void> {
    const handle = await this.call<Buffer>((cb) => this.sftp.open(path, 'wx', { mode }, cb));
    try {
      // ssh2 splits one write into packets of the server's size; one call per file.
      if (data.length > 0) await this.call((cb) => this.sftp.write(handle, Buffer.from(data), 0, data.length, 0, (e) => cb(e, undefined)));
    } finally {
      await this.call((cb) => this.sftp.close(handle, (e) => cb(e, undefined)));
    }
  }

  /** rename(2): replaces `to` atomically (OpenSSH's posix-rename; plain SFTP rename refuses an existing target). */
  rename(from: string, to: string): Promise<void> {
    return this.call<void>((cb) => this.sftp.ext_openssh_rename(from, to, (e) => cb(e, undefined))).catch((e: Error) => {
      if (/not support/i.test(e.message)) throw new SftpUnavailableError(`the SFTP server of ${this.label} has no posix-rename`, { cause: e });
      throw e;
    });
  }

  unlink(path: string): Promise<void> {
    return this.call((cb) => this.sftp.unlink(path, (e) => cb(e, undefined)));
  }

  rmdir(path: string): Promise<void> {
    return this.call((cb) => this.sftp.rmdir(path, (e) => cb(e, undefined)));
  }

  end(): void {
    this.sftp.end();
  }
}

function orMissing(e: unknown): undefined {
  if (sftpCode(e) === SFTP_STATUS.NO_SUCH_FILE) return undefined;
  throw e;
}

/**
 * Starts the SFTP subsystem on a channel of `client` (the caller has counted the channel); `closed` runs
 * once when that channel is gone, or at once when the host refuses the subsystem (SftpUnavailableError).
 */
export function openSftp(client: Client, label: string, closed: () => void): Promise<Sftp> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => {
      if (err) {
        closed();
        reject(new SftpUnavailableError(`${label} has no SFTP subsystem: ${err.message}`, { cause: err }));
        return;
      }
      sftp.once('close', closed);
      resolve(new Sftp(sftp, label));
    });
  });
}

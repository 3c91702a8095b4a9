// Opening the TCP connection to a host, loading ssh2, and what a failed connection means to the user
// (which failures are worth another attempt).
import { Socket } from 'node:net';
import { AuthenticationError, ConnectionError, TejError } from '../errors.js';
import { markBusy } from '../transport/busy.js';
import type { SshTarget } from './config.js';
import { coalesceWrites } from './coalesce-writes.js';
import { loadSsh2Module, type Ssh2 } from './ssh2-load.js';

/**
 * ssh2 itself, loaded on the first login: a command that reuses a persistent connection's master
 * (src/persist) never logs in, and skips loading it (~50 ms of each such command's start-up).
 */
export function loadSsh2(): Promise<Ssh2> {
  return loadSsh2Module();
}

// Network failures worth retrying; everything else (auth, host key) is final.
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN']);

export function connectionError(target: SshTarget, err: Error & { level?: string; code?: string }): TejError {
  if (err instanceof TejError) return err;
  const where = `${target.user}@${target.alias}`;
  if (err.level === 'client-authentication') {
    return new AuthenticationError(`authentication to ${where} failed (tried: agent and identity files)`, {
      cause: err,
      hint: `check that your key is in ~${target.user}/.ssh/authorized_keys on ${target.host}, or set IdentityFile in ~/.ssh/config`,
    });
  }
  const detail = err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message;
  // A name that does not resolve will not resolve in a second either (a DNS timeout is EAI_AGAIN).
  const unresolved = err.code === 'ENOTFOUND';
  const e = new ConnectionError(`cannot connect to ${where} (${target.host}:${target.port}): ${detail}`, {
    cause: err,
    hint: unresolved ? 'check the host name, or add a Host entry for it to ~/.ssh/config' : undefined,
  });
  if (unresolved) e.retryable = false;
  // Closed before the SSH handshake (sshd's MaxStartups drops connections beyond 10 unauthenticated ones).
  if (err.level === 'protocol' && /before handshake/i.test(err.message)) markBusy(e);
  if (err.code && !TRANSIENT.has(err.code) && err.level !== 'client-timeout' && err.level !== 'client-socket') e.retryable = false;
  return e;
}

export interface Dialed {
  socket: Socket;
  /** An error the socket had before ssh2 took it over. */
  failed?: Error;
}

/**
 * Opens the TCP connection to the target; ssh2 takes the socket over, connected or still connecting.
 * The only TCP socket tej opens (jump hosts' next hops are channels in it; a --persist master dials here
 * too). TCP_NODELAY: ssh2 writes a request in several small pieces (without its native crypto binding,
 * one per packet part), and with Nagle each would wait for the host's delayed ACK (~40 ms a request).
 */
export function dial(target: SshTarget): Dialed {
  const socket = new Socket();
  socket.setNoDelay(true);
  const dialed: Dialed = { socket };
  socket.once('error', (e) => (dialed.failed ??= e));
  socket.connect({ host: target.host, port: target.port });
  coalesceWrites(socket); // after connect(), which puts back Socket.prototype.write
  return dialed;
}

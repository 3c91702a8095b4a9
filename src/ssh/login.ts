// Logging in to one host: the TCP connection (or a jump host's forwarded channel), the host key checked
// against known_hosts, then the auth methods in turn. The result is a ready ssh2 Client; the channels on
// it are src/transport/ssh.ts's.
import type { Readable } from 'node:stream';
import type { Client, ConnectConfig } from 'ssh2';
import { AuthenticationError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import { canAnswerPrompts, type Prompter } from '../transport/prompt.js';
import { authHandler, keyboardInteractive, keyMethods } from './auth.js';
import type { SshTarget } from './config.js';
import { connectionError, dial, loadSsh2, type Dialed } from './dial.js';
import { addKnownHost, fingerprint, hostKeyError, keyTypeOfBlob, knownHostsName, knownKeyTypes, loadKnownHosts, verifyHostKey, type KnownHostEntry } from './known-hosts.js';

export interface SshOptions {
  /** Add an unknown host's key to known_hosts instead of refusing (like StrictHostKeyChecking=accept-new). */
  acceptNewHostKey?: boolean;
  /** Answers keyboard-interactive prompts (one-time codes); default: TEJ_ASKPASS, else the terminal. */
  prompt?: Prompter;
  onEvent?: EventHandler;
  /** Abandons the login: the connection (and any jump hosts') is closed, and the reason thrown. */
  signal?: AbortSignal;
}

/** Logs in to `target`, over `sock` (a jump host's forwarded channel) or a TCP connection of its own. */
export async function login(target: SshTarget, options: SshOptions, sock?: Readable): Promise<Client> {
  options.signal?.throwIfAborted();
  // The TCP connection opens first: the host accepts it and starts its sshd while known_hosts, the
  // keys and ssh2 itself load here (tens of ms each side).
  const dialed = sock ? undefined : dial(target);
  try {
    return await handshake(target, options, sock, dialed);
  } catch (e) {
    dialed?.socket.destroy();
    throw e;
  }
}

// (key, verify): ssh2 waits for verify() when the verifier returns undefined, as it does while a new key is recorded
type HostVerifier = (blob: Buffer, verify: (valid: boolean) => void) => boolean | undefined;

/** Checks the host's key; a refusal is handed to `refuse` (ssh2 itself only reports a generic failure). */
function hostVerifier(target: SshTarget, options: SshOptions, known: KnownHostEntry[], name: string, refuse: (e: TejError) => void): HostVerifier {
  return (blob, verify) => {
    const keyType = keyTypeOfBlob(blob);
    const keyBase64 = blob.toString('base64');
    const verdict = verifyHostKey(known, name, keyType, keyBase64);
    const fp = fingerprint(keyBase64);
    if (verdict.kind === 'known') return true;
    if (verdict.kind === 'unknown' && options.acceptNewHostKey) {
      const file = target.knownHostsFiles[0]!;
      const warn = (message: string) => options.onEvent?.({ kind: 'warning', host: target.alias, message });
      addKnownHost(file, name, keyType, keyBase64)
        .then(
          () => warn(`added ${keyType} key ${fp} for ${name} to ${file}`),
          (e: Error) => warn(`accepted the new ${keyType} key ${fp} of ${name} for this connection, but could not record it in ${file} (${e.message}): the next connection will not know it either`),
        )
        .finally(() => verify(true));
      return undefined;
    }
    refuse(hostKeyError(verdict, name, target.alias, keyType, fp));
    return false;
  };
}

/** Ask for a key type that known_hosts can vouch for, as OpenSSH does. */
function preferredHostKeys(types: string[]): string[] {
  const preferred = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const order = preferred.filter((a) => types.includes(a === 'rsa-sha2-512' || a === 'rsa-sha2-256' ? 'ssh-rsa' : a));
  const rest = preferred.filter((a) => !order.includes(a));
  return [...order, ...rest];
}

async function handshake(target: SshTarget, options: SshOptions, sock?: Readable, dialed?: Dialed): Promise<Client> {
  const known = await loadKnownHosts(target.knownHostsFiles);
  // As OpenSSH: a HostKeyAlias is looked up as is; a host name with its port when that is not 22.
  const name = target.hostKeyAliased ? target.hostKeyName : knownHostsName(target.hostKeyName, target.port);
  const types = knownKeyTypes(known, name);
  const methods = await keyMethods(target, options.onEvent);
  // Without a key, a host may still let in with keyboard-interactive alone, if someone can answer.
  if (methods.length === 0 && !canAnswerPrompts(options.prompt)) {
    throw new AuthenticationError(`no way to authenticate to ${target.user}@${target.alias}: no ssh-agent and no readable key`, {
      hint: 'start ssh-agent and ssh-add your key, or set IdentityFile for this host in ~/.ssh/config',
    });
  }
  let hostKeyProblem: TejError | undefined;
  let authProblem: TejError | undefined;
  const prompter = options.prompt ?? (await import('../transport/prompt.js')).defaultPrompter;
  methods.push(
    keyboardInteractive(target, prompter, (problem) => {
      authProblem = problem;
      client.end(); // no answer to give: an empty one would count as a failed login on the host
    }),
  );
  const client = new (await loadSsh2()).Client();
  options.signal?.throwIfAborted(); // (login() closes the socket)
  // Failed before ssh2 was listening (refused, unresolved): reported as ssh2 would have.
  if (dialed?.failed) throw connectionError(target, Object.assign(dialed.failed, { level: 'client-socket' }));
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    sock: sock ?? dialed?.socket,
    readyTimeout: target.connectTimeoutMs,
    keepaliveInterval: target.serverAliveIntervalMs ?? 15_000,
    keepaliveCountMax: target.serverAliveCountMax ?? 4,
    hostVerifier: hostVerifier(target, options, known, name, (e) => (hostKeyProblem = e)),
    authHandler: authHandler(methods, target, options.onEvent) as unknown as ConnectConfig['authHandler'],
  };
  if (types.length > 0) config.algorithms = { serverHostKey: preferredHostKeys(types) as never };
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const settle = () => {
      client.removeListener('ready', onReady);
      client.removeListener('close', onClose);
      client.removeListener('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    // After a failed login, the socket's last errors have nobody else to go to.
    const fail = (e: unknown) => {
      settle();
      client.on('error', () => undefined);
      client.end();
      reject(e);
    };
    const onError = (err: Error & { level?: string }) => fail(hostKeyProblem ?? authProblem ?? connectionError(target, err));
    // Ended without an error (we hung up on a prompt, or the host did during the handshake).
    const onClose = () => onError(Object.assign(new Error('the connection closed during the login'), { code: 'ECONNRESET' }));
    const onAbort = () => fail(signal!.reason);
    const onReady = () => {
      settle();
      resolve(client);
    };
    client.once('close', onClose);
    client.once('error', onError);
    client.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
    client.connect(config);
    options.onEvent?.({ kind: 'handshake', host: target.alias });
  });
}

// The forward operation: local ports that lead to ports on the machine a job runs on. The `where` helper
// (remote-scripts/commands/where.sh) names that machine as the login host reaches it (127.0.0.1 for
// direct, the first node of a Slurm allocation); each local connection becomes a direct-tcpip channel
// from the login host's sshd to node:PORT (through any ProxyJump hops, which the connection already has).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidInputError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';

export interface ForwardSpec {
  /** The local port to listen on; 0 picks a free one. */
  local: number;
  /** The port on the job's machine. */
  remote: number;
}

function port(text: string, what: string, spec: string, zero: boolean): number {
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= (zero ? 0 : 1) && n <= 65535)) {
    throw new InvalidInputError(`bad port forward '${spec}': ${what} must be a port number (${zero ? 0 : 1}-65535)`, { hint: 'write PORT, LOCAL:PORT, or 0:PORT for a free local port' });
  }
  return n;
}

/** `PORT` (the same port locally), `LOCAL:PORT`, `0:PORT` (a free local port). */
export function parseForwardSpec(spec: string): ForwardSpec {
  const parts = spec.split(':');
  if (parts.length === 1) return { local: port(parts[0]!, 'the port', spec, false), remote: port(parts[0]!, 'the port', spec, false) };
  if (parts.length === 2) return { local: port(parts[0]!, 'LOCAL', spec, true), remote: port(parts[1]!, 'PORT', spec, false) };
  throw new InvalidInputError(`bad port forward '${spec}'`, { hint: 'write PORT, LOCAL:PORT, or 0:PORT for a free local port' });
}

/**
 * A node name as the where helper reports it: one word of a host name or an address. The scheduler
 * chooses it, yet it is checked as the rest of a reply is: nothing else may reach ssh2's request.
 */
export function checkNode(node: string | undefined, host: string, id: string): string {
  if (node !== undefined && /^[A-Za-z0-9_:][A-Za-z0-9._:-]{0,253}$/.test(node)) return node;
  throw new TejError(`${host} did not say where job ${id} runs (node=${JSON.stringify(node ?? null)})`, { hint: 'run the command again with -v; if it fails again, please report it' });
}

export interface ForwardedPort {
  /** Where the local listener is bound: 127.0.0.1. */
  localAddress: string;
  localPort: number;
  /** The port on the job's machine. */
  remotePort: number;
  /** `http://127.0.0.1:LOCAL`. */
  url: string;
}

/** Why a forward ended: close() was called, or the job left the running state (`state`). */
export interface ForwardEnd {
  reason: 'closed' | 'job-ended';
  state?: string;
}

export interface ForwardHandle {
  /** The job's machine as the login host reaches it (127.0.0.1: the host itself). */
  node: string;
  ports: ForwardedPort[];
  /** Settles when the forward ends: close(), the job's end; rejects when the connection broke. */
  ended: Promise<ForwardEnd>;
  /** Closes the listeners and every forwarded connection. */
  close(): Promise<void>;
}

/** Opens a TCP connection to node:port from the login host (Transport.tunnel). */
export type Tunnel = (node: string, port: number) => Promise<Duplex>;

function listen(spec: ForwardSpec, onSocket: (sock: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, onSocket);
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'is in use' : e.code === 'EACCES' ? 'needs privileges' : `cannot be opened (${e.message})`;
      reject(new InvalidInputError(`local port ${spec.local} ${why}`, { hint: `choose another one with LOCAL:${spec.remote}, or 0:${spec.remote} for a free one` }));
    });
    // allowHalfOpen: a client's end of input (a FIN) goes on to the job, which may still answer.
    // 127.0.0.1 only: the job's port is the user's, not the local network's.
    server.listen(spec.local, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Listens on 127.0.0.1 for each spec and joins every accepted connection to node:remote through
 * `tunnel`. A connection the node refuses is closed and reported as a warning; the forward goes on.
 */
export async function openForward(node: string, specs: readonly ForwardSpec[], tunnel: Tunnel, host: string, onEvent?: EventHandler): Promise<Omit<ForwardHandle, 'ended'>> {
  const servers: Server[] = [];
  const open = new Set<Socket | Duplex>();
  let closed = false;
  const join = (sock: Socket, remote: number) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => sock.destroy());
    tunnel(node, remote).then(
      (channel) => {
        if (closed || sock.destroyed) return void channel.destroy();
        open.add(channel);
        channel.on('close', () => {
          open.delete(channel);
          sock.destroy();
        });
        channel.on('error', () => channel.destroy());
        sock.on('close', () => channel.destroy());
        sock.pipe(channel).pipe(sock);
        sock.resume();
      },
      (e: Error) => {
        sock.destroy();
        onEvent?.({ kind: 'warning', host, message: `a forwarded connection to port ${remote} failed: ${e.message}` });
      },
    );
  };
  const close = async () => {
    closed = true;
    for (const s of open) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  };
  try {
    for (const spec of specs) servers.push(await listen(spec, (sock) => join(sock, spec.remote)));
  } catch (e) {
    await close();
    throw e;
  }
  const ports = servers.map((s, i) => {
    const a = s.address() as AddressInfo;
    return { localAddress: a.address, localPort: a.port, remotePort: specs[i]!.remote, url: `http://${a.address}:${a.port}` };
  });
  return { node, ports, close };
}

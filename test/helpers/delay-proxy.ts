// A TCP proxy on 127.0.0.1 that holds every chunk for delayMs in both directions: latency for the
// integration tests, since this kernel has no netem. Order is kept: Node fires equal timeouts FIFO.
import { createServer, connect, type Socket } from 'node:net';

export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startDelayProxy(targetHost: string, targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    return s;
  };
  const server = createServer((client) => {
    track(client);
    const upstream = track(connect(targetPort, targetHost));
    forward(client, upstream, delayMs);
    forward(upstream, client, delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startDelayProxy: no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function forward(from: Socket, to: Socket, delayMs: number): void {
  const later = (fn: () => void): void => {
    setTimeout(() => {
      if (!to.destroyed) fn();
    }, delayMs);
  };
  from.on('data', (chunk: Buffer) => later(() => to.write(chunk)));
  from.on('end', () => later(() => to.end()));
  // an error or reset on one side ends the other one too, after the same delay
  from.on('error', () => later(() => to.destroy()));
  from.on('close', (hadError) => {
    if (hadError) later(() => to.destroy());
  });
}

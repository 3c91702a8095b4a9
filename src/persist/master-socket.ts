// The master's unix socket (master.ts): binding it, which is the lock between masters started at once
// (a stale socket, left by a master that was killed, is replaced), and reading a connection's request.
import { statSync, unlinkSync } from 'node:fs';
import { connect as netConnect, type Server, type Socket } from 'node:net';
import { takeLine } from './frame.js';

/** Binds the socket; false when a live master holds it already. A stale socket is removed. */
export async function bind(server: Server, path: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(path, () => {
        server.removeListener('error', resolve);
        resolve(undefined);
      });
    });
    if (!error) return true;
    if (error.code !== 'EADDRINUSE' || attempt >= 3) throw error;
    const ino = statSync(path, { throwIfNoEntry: false })?.ino;
    const alive = await new Promise<boolean>((resolve) => {
      const s = netConnect(path);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (alive) return false;
    // Stale (its master was killed, or failed its login and is exiting): remove it unless another master
    // has just replaced it. Masters started at once race here: one that finds it gone tries to bind again.
    if (statSync(path, { throwIfNoEntry: false })?.ino === ino) {
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }
}

/** Reads a connection's first line (at most 64 KiB), then hands it and the bytes after it on. */
export function readRequest<R>(sock: Socket, then: (req: Partial<R> & { line: string }, rest: Buffer) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    let got;
    try {
      got = takeLine(head);
    } catch {
      sock.destroy();
      return;
    }
    if (!got) return;
    sock.removeListener('data', onHead);
    sock.pause();
    let req: Partial<R>;
    try {
      req = JSON.parse(got.line) as Partial<R>;
    } catch {
      req = {};
    }
    then({ ...req, line: got.line }, got.rest);
  };
  sock.on('data', onHead);
}

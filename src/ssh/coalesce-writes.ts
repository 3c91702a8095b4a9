// One write(2) for each burst of SSH packets. ssh2 hands the socket every packet as a write of its own
// (without its native binding, three or four pieces a packet: length, ciphertext, tag), and each write
// of a connected socket is a syscall at once: a 200 MB upload made ~6400-25000 of them, and with
// TCP_NODELAY (src/ssh/dial.ts) as many TCP segments, some of 4 bytes. Corked until the current run of
// JavaScript ends (process.nextTick), the writes of one burst (an upload's chunk split into packets,
// a download's read requests, the packets freed by a window adjust) go out as one writev: nothing
// waits for a later event, so no request is delayed.
import type { Socket } from 'node:net';

/** Call it after socket.connect(): connect() puts Socket.prototype.write back on the socket. */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork(); // (end() uncorks on its own: then this is a no-op)
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args);
  } as Socket['write'];
}

// The master's half of one channel: an SSH channel relayed to one socket connection in frames
// (docs/protocol.md, "Persistent connections"), with backpressure both ways.
import type { Socket } from 'node:net';
import type { ExitWatchedChannel } from '../transport/ssh.js';
import { encodeFrame, EXIT, FrameDecoder, STDERR, STDIN, STDIN_EOF, STDOUT } from './frame.js';

/** Relays one channel both ways; each side is paused while the other cannot take more. */
export function pipeChannel(watched: ExitWatchedChannel, sock: Socket, early: Buffer, done: () => void): void {
  const { channel } = watched;
  const decoder = new FrameDecoder();
  let ended = 0;
  let closed = false;
  const maybeExit = () => {
    if (!closed || ended < 2) return;
    // the status execChannel caught: an 'exit' listener added here could come after the event
    sock.end(encodeFrame(EXIT, JSON.stringify({ code: watched.exit?.code ?? null, signal: watched.exit?.signal })));
  };
  const forward = (type: number) => (data: Buffer) => {
    if (!sock.write(encodeFrame(type, data))) {
      channel.pause();
      channel.stderr.pause();
    }
  };
  channel.on('data', forward(STDOUT));
  channel.stderr.on('data', forward(STDERR));
  sock.on('drain', () => {
    channel.resume();
    channel.stderr.resume();
  });
  channel.on('end', () => (ended++, maybeExit()));
  channel.stderr.on('end', () => (ended++, maybeExit()));
  channel.on('close', () => {
    closed = true;
    maybeExit();
  });
  const onFrames = (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      sock.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type === STDIN) {
        if (!channel.write(f.payload)) sock.pause();
      } else if (f.type === STDIN_EOF) channel.end();
    }
  };
  channel.on('drain', () => sock.resume());
  sock.on('data', onFrames);
  // The CLI went away (killed, or its transport closed): the remote command loses its channel too.
  sock.on('close', () => {
    channel.close();
    done();
  });
  if (early.length > 0) onFrames(early);
  sock.resume();
}

// The master's half of one channel: an SSH channel relayed to one socket connection in frames
// (docs/protocol.md, "Persistent connections"), with backpressure both ways.
import type { Socket } from 'node:net';
import type { ClientChannel } from 'ssh2';
import type { ExitWatchedChannel } from '../transport/ssh.js';
import { encodeFrame, FRAME, FrameDecoder } from './frame.js';

/**
 * Relays one channel both ways; each side is paused while the other cannot take more. With `release`
 * (a warm shell's channel), the client may give the channel back (FRAME.RELEASE): it is then cut off
 * from the socket, left open and paused, and handed to `release`.
 */
export function pipeChannel(watched: ExitWatchedChannel, sock: Socket, early: Buffer, done: () => void, release?: () => void): void {
  const { channel } = watched;
  const decoder = new FrameDecoder();
  let ended = 0;
  let closed = false;
  let released = false;
  const maybeExit = () => {
    if (!closed || ended < 2) return;
    // the status execChannel caught: an 'exit' listener added here could come after the event
    sock.end(encodeFrame(FRAME.EXIT, JSON.stringify({ code: watched.exit?.code ?? null, signal: watched.exit?.signal })));
  };
  const forward = (type: number) => (data: Buffer) => {
    if (!sock.write(encodeFrame(type, data))) {
      channel.pause();
      channel.stderr.pause();
    }
  };
  const onOut = forward(FRAME.STDOUT);
  const onErr = forward(FRAME.STDERR);
  const onEnd = () => (ended++, maybeExit());
  const onClose = () => {
    closed = true;
    maybeExit();
  };
  const onDrain = () => sock.resume();
  channel.on('data', onOut);
  channel.stderr.on('data', onErr);
  sock.on('drain', () => {
    if (released) return;
    channel.resume();
    channel.stderr.resume();
  });
  channel.on('end', onEnd);
  channel.stderr.on('end', onEnd);
  channel.on('close', onClose);
  const giveBack = () => {
    released = true;
    channel.removeListener('data', onOut);
    channel.stderr.removeListener('data', onErr);
    channel.removeListener('end', onEnd);
    channel.stderr.removeListener('end', onEnd);
    channel.removeListener('close', onClose);
    channel.removeListener('drain', onDrain);
    channel.pause();
    channel.stderr.pause();
    release!();
  };
  const onFrames = (chunk: Buffer) => {
    if (released) return; // the channel is the next client's
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      sock.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type === FRAME.STDIN) {
        if (!channel.write(f.payload)) sock.pause();
      } else if (f.type === FRAME.STDIN_EOF) channel.end();
      else if (f.type === FRAME.RELEASE && release && !released && !closed && !watched.exit) return giveBack();
    }
  };
  channel.on('drain', onDrain);
  sock.on('data', onFrames);
  // The CLI went away (killed, or its transport closed): the remote command loses its channel too.
  // Closing a channel does not stop its command (sshd signals nothing without a terminal, and the
  // session's sshd stays up with the master's connection): a quiet `logs -f` would poll on until its job
  // ends. A command still running is sent SIGTERM first (its login shell, if it did not exec, dies and
  // the command's parent changes, which the follow loop watches).
  sock.on('close', () => {
    if (!released) {
      if (!watched.exit) signalChannel(channel, 'TERM');
      channel.close();
    }
    done();
  });
  if (early.length > 0) onFrames(early);
  sock.resume();
}

/** The parts of ssh2's channel that its signal() uses (ssh2 1.x). */
interface ChannelInternals {
  type?: string;
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Sends a "signal" channel request (RFC 4254 6.9; sshd signals the command's process group). ssh2's
 * channel.signal() sends nothing once the channel's stdin has ended (state 'eof'), which every tej command's has
 * (its script was sent): this sends it as long as the channel is open.
 */
export function signalChannel(channel: ClientChannel, name: string): void {
  const c = channel as unknown as ChannelInternals;
  try {
    if (c.type === 'session' && (c.outgoing?.state === 'open' || c.outgoing?.state === 'eof')) c._client?._protocol?.signal(c.outgoing.id, name);
  } catch {
    // the connection is already closing
  }
}

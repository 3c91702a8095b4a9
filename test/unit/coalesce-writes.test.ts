// coalesceWrites (src/ssh/coalesce-writes.ts): the writes ssh2 makes in one run of JavaScript leave the
// socket as one writev, in order; a write in a later run is not held back for another; end() sends
// what is pending. Against a real TCP connection on 127.0.0.1; the socket's own _write/_writev counted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { coalesceWrites } from '../../src/ssh/coalesce-writes.js';
import type { SshTarget } from '../../src/ssh/config.js';
import { dial } from '../../src/ssh/dial.js';

describe('coalesceWrites', () => {
  let server: Server;
  /** What the server's next connection receives, once it ends (the 'connection' event may follow the client's 'connect'). */
  let received: Promise<Promise<Buffer>>;
  let onConnection: (all: Promise<Buffer>) => void;
  const expectConnection = () => (received = new Promise((r) => (onConnection = r)));
  const receivedText = async () => (await (await received)).toString();

  before(async () => {
    server = createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      onConnection(once(s, 'end').then(() => Buffer.concat(chunks)));
      s.resume();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => server.close());

  /** A connected socket with coalesceWrites, and counts of the syscall-level writes its stream makes. */
  async function dialCounted(): Promise<{ socket: Socket; calls: { write: number; writev: number[] } }> {
    expectConnection();
    const socket = new Socket();
    const calls = { write: 0, writev: [] as number[] };
    const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
    const write = s._write.bind(socket);
    const writev = s._writev.bind(socket);
    s._write = (...a) => (calls.write++, write(...a));
    s._writev = (chunks, cb) => (calls.writev.push(chunks.length), writev(chunks, cb));
    socket.connect((server.address() as AddressInfo).port, '127.0.0.1');
    coalesceWrites(socket); // as dial() does: after connect(), which resets socket.write
    await once(socket, 'connect');
    return { socket, calls };
  }

  it('sends the writes of one tick as one writev, in order', async () => {
    const { socket, calls } = await dialCounted();
    const parts = ['length', 'ciphertext', 'tag'].map((x) => Buffer.from(x));
    for (const p of parts) socket.write(p);
    assert.deepEqual(calls, { write: 0, writev: [] }, 'nothing written before the tick ends');
    await new Promise((r) => process.nextTick(r));
    assert.deepEqual(calls, { write: 0, writev: [3] });
    socket.end();
    assert.equal(await receivedText(), 'lengthciphertexttag');
  });

  it('holds no write for a later one: each tick writes what it was given', async () => {
    const { socket, calls } = await dialCounted();
    socket.write('a');
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.write + calls.writev.length, 1, 'the first write went out in its own tick');
    socket.write('b');
    socket.write('c');
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.write + calls.writev.length, 2);
    socket.end();
    assert.equal(await receivedText(), 'abc');
  });

  it('end() in the same tick sends what is pending first', async () => {
    const { socket } = await dialCounted();
    socket.write('x');
    socket.write('y');
    socket.end('z');
    assert.equal(await receivedText(), 'xyz');
  });

  it('is on the socket dial() opens for a login', async () => {
    expectConnection();
    const { socket } = dial({ host: '127.0.0.1', port: (server.address() as AddressInfo).port } as SshTarget);
    socket.write('ident');
    assert.equal(socket.writableCorked, 1, 'held until the tick ends');
    await once(socket, 'connect');
    socket.end('!');
    assert.equal(await receivedText(), 'ident!');
  });
});

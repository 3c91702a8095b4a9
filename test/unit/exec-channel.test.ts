// SshTransport.execChannel, what a --persist master relays: a command that ends at once can have its
// exit status in the same read as the channel's opening, before the caller's `await` resumes. Against
// an in-process ssh2 server that answers an exec with its output, exit status and close all at once.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../helpers/ssh-keys.js';
import { FRAME, FrameDecoder } from '../../src/persist/frame.js';
import { pipeChannel } from '../../src/persist/relay.js';
import { SshTransport } from '../../src/transport/ssh.js';

describe('execChannel', () => {
  let home: string;
  let server: InstanceType<typeof ssh2.Server>;
  let port: number;
  let batcher: Server;
  const savedHome = process.env.HOME;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tej-exec-channel-'));
    const hostKey = ed25519KeyPair();
    const clientKey = ed25519KeyPair();
    server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) => ctx.accept());
      client.on('ready', () => {
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, _reject, info) => {
            // everything in one go: success, output, exit status, eof, close
            const stream = acceptExec();
            stream.write(`ran ${info.command}\n`);
            stream.exit(3);
            stream.end();
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Between the two, a proxy that hands on what the server sends in batches, 150 ms apart: the exec's
    // success, output, exit status and close then reach the client in one read.
    const serverPort = (server.address() as AddressInfo).port;
    batcher = createNetServer((down) => {
      const up = connect(serverPort, '127.0.0.1');
      let held: Buffer[] = [];
      up.on('data', (d: Buffer) => {
        if (held.length === 0) setTimeout(() => (down.write(Buffer.concat(held)), (held = [])), 150);
        held.push(d);
      });
      down.on('data', (d: Buffer) => up.write(d));
      for (const [a, b] of [[up, down], [down, up]] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => setTimeout(() => b.destroy(), 50));
      }
    });
    await new Promise<void>((resolve) => batcher.listen(0, '127.0.0.1', resolve));
    port = (batcher.address() as AddressInfo).port;
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    await writeFile(join(home, '.ssh', 'id_ed25519'), clientKey.private, { mode: 0o600 });
    const pub = ssh2.utils.parseKey(hostKey.public) as { type: string; getPublicSSH(): Buffer };
    await writeFile(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${pub.type} ${pub.getPublicSSH().toString('base64')}\n`);
    process.env.HOME = home; // ~/.ssh of this test, for SshTransport.connect
  });
  after(async () => {
    process.env.HOME = savedHome;
    server?.close();
    batcher?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('has the exit status of a command that ended before the caller resumed, and the relay sends it', async () => {
    const transport = await SshTransport.connect(`ssh://me@127.0.0.1:${port}`);
    try {
      const watched = await transport.execChannel('quick');
      let lateListenerSawExit = false;
      watched.channel.on('exit', () => (lateListenerSawExit = true));
      // the relay, over a socket pair, as a master runs it
      const pair = createNetServer();
      await new Promise<void>((resolve) => pair.listen(0, '127.0.0.1', resolve));
      const accepted = once(pair, 'connection') as Promise<[Socket]>;
      const cli = connect((pair.address() as AddressInfo).port, '127.0.0.1');
      const [masterSide] = await accepted;
      const received: Buffer[] = [];
      cli.on('data', (d: Buffer) => received.push(d));
      const relayed = once(cli, 'end');
      pipeChannel(watched, masterSide, Buffer.alloc(0), () => undefined);
      await relayed;
      cli.destroy();
      pair.close();
      assert.equal(lateListenerSawExit, false, 'the scenario: an exit listener added after the await misses the event');
      assert.deepEqual(watched.exit, { code: 3, signal: undefined });
      const frames = new FrameDecoder().push(Buffer.concat(received));
      assert.equal(Buffer.concat(frames.filter((f) => f.type === FRAME.STDOUT).map((f) => f.payload)).toString(), 'ran quick\n');
      assert.deepEqual(JSON.parse(frames.find((f) => f.type === FRAME.EXIT)!.payload.toString()), { code: 3 });
    } finally {
      await transport.close();
    }
  });
});

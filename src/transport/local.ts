// The embedded default: a queue on this machine, driven by the same helpers through /bin/sh.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { shLine } from './quote.js';
import { EXEC_SCRIPT } from './remote-command.js';
import type { RunOptions, RunResult, Transport } from './transport.js';
import { collect, withFirst } from './transport.js';

export class LocalTransport implements Transport {
  readonly label = 'local';

  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    // As over SSH, the script goes on stdin: an argument is at most 128 KiB on Linux (thousands of ids).
    const child = spawn('/bin/sh', ['-c', EXEC_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const line = Buffer.from(`${shLine(script)}\n`);
    const stdout = options.stdout
      ? pipeline(child.stdout, options.stdout, { end: false }).then(() => Buffer.alloc(0))
      : collect(child.stdout);
    stdout.catch(() => undefined); // observed at 'close'; a download that failed locally destroys options.stdout before
    let stdinError: Error | undefined;
    const stderr = options.stderr ? pipeline(child.stderr, options.stderr, { end: false }).then(() => Buffer.alloc(0)) : collect(child.stderr);
    stderr.catch(() => undefined); // observed at 'close'
    if (options.stdin) {
      // EPIPE when the helper exits early (e.g. refuses an existing id) is not an error of ours: the
      // exit status tells what happened.
      pipeline(withFirst(line, options.stdin()), child.stdin).catch((e: Error) => (stdinError = e));
    } else {
      child.stdin.on('error', () => undefined); // EPIPE: the script ended without reading it all
      child.stdin.end(line);
    }
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        Promise.all([stdout, stderr]).then(
          ([out, err]) => resolve({ code, signal: signal ?? undefined, stdout: out, stderr: err.toString(), stdinError }),
          reject,
        );
      });
    });
  }

  /** Transport.tunnel: the local queue's jobs run here, so their ports are this machine's. */
  tunnel(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host, port, noDelay: true });
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  async close(): Promise<void> {}
}

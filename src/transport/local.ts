// The embedded default: a queue on this machine, driven by the same helpers through /bin/sh.
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import type { RunOptions, RunResult, Transport } from './transport.js';
import { collect } from './transport.js';

export class LocalTransport implements Transport {
  readonly label = 'local';

  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout = options.stdout
      ? pipeline(child.stdout, options.stdout, { end: false }).then(() => Buffer.alloc(0))
      : collect(child.stdout);
    stdout.catch(() => undefined); // observed at 'close'; a download that failed locally destroys options.stdout before
    let stdinError: Error | undefined;
    const stderr = collect(child.stderr);
    if (options.stdin) {
      // EPIPE when the helper exits early (e.g. refuses an existing id) is not an error of ours: the
      // exit status tells what happened.
      pipeline(options.stdin(), child.stdin).catch((e: Error) => (stdinError = e));
    } else {
      child.stdin.end();
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

  async close(): Promise<void> {}
}

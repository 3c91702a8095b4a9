// tej forward through a ProxyJump chain, and under --persist: the job's port on the inner host is
// reached from the inner host's sshd, whose connection itself goes through the jump host. A --persist
// master relays commands, not TCP channels: forward opens a connection of its own and starts no master.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { fetchText } from '../helpers/wait.js';
import { startJumpLab } from '../helpers/jump-lab.js';
import type { Lab } from '../helpers/lab.js';

describe('tej forward through a jump host', () => {
  let lab: Lab<'jump' | 'inner'>;
  let home: string;
  before(async () => {
    ({ lab, home } = await startJumpLab());
  });
  after(async () => {
    await lab?.stop();
  });

  it("reaches the inner host's job, with --persist given", async () => {
    const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });
    const id = 'fwj';
    const dir = await makeJob(join(home, id), {
      'start.sh': 'hostname > page.txt\nexec /usr/bin/python3 -m http.server 18083 --bind 127.0.0.1\n',
    });
    ok(await run(['submit', 'viajump', '--id', id, dir]));
    await waitFor(`${id} running`, () => run(['status', 'viajump', '--id', id]), (r) => /\brunning\b/.test(r.stdout), 90_000);
    const runtime = join(home, 'run');
    await mkdir(runtime, { recursive: true, mode: 0o700 });
    const f = startTej(['forward', 'viajump', '--id', id, '0:18083', '--persist'], { home, env: { XDG_RUNTIME_DIR: runtime } });
    await f.stdoutMatches(/^http:\/\/127\.0\.0\.1:\d+\n/);
    const url = f.out.stdout.trim();
    const page = await waitFor(
      'the page',
      () => fetchText(`${url}/page.txt`),
      (t) => !t.startsWith('failed'),
      90_000,
    );
    assert.equal(page, 'inner\n');
    // no master was started for it: nothing in the runtime directory
    assert.deepEqual(await readdir(join(runtime, 'tej')).catch(() => []), []);
    ok(await run(['kill', 'viajump', '--id', id]));
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
  });
});

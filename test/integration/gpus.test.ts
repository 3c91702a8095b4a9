// GPUs under direct (lib/gpus.sh, README "Limits"), over real SSH: the devices come from the queue's gpus
// file (a fake list: the lab has no GPU) or a fake nvidia-smi; jobs that run at once get disjoint devices
// in CUDA_VISIBLE_DEVICES, one asking for more than are free is refused (69), and an ended job's devices
// are free again.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

// the job says its devices, then holds them until the test lets it end
const HOLD = 'echo "$CUDA_VISIBLE_DEVICES" > devices\nwhile ! test -f stop; do sleep 0.2; done\n';

describe('gpus under direct, over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-gpus-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const sh = async (cmd: string) => ok(await sshHost.lab.execAs('h1', 'alice', cmd));
  const devices = async (id: string) => {
    // the job writes the file first thing: the test waits for the job, not for a time
    await sh(`while ! test -s ~/.tej/jobs/${id}/work/devices; do sleep 0.1; done`);
    return (await sh(`cat ~/.tej/jobs/${id}/work/devices`)).trim();
  };
  const stop = async (id: string) => {
    await sh(`touch ~/.tej/jobs/${id}/work/stop`);
    ok(await run(['wait', 'h1', '--id', id]));
  };

  it('from the queue gpus file: jobs at once get disjoint devices; more than are free is refused; ended jobs give theirs back', async () => {
    await sh("printf '0 1 2\\n' > ~/.tej/gpus");
    const a = await makeJob(join(sshHost.jobs, 'a'), { 'start.sh': HOLD });
    ok(await run(['submit', 'h1', '--id', 'ga', '--gpus', '2', a]));
    const b = await makeJob(join(sshHost.jobs, 'b'), { 'start.sh': HOLD });
    ok(await run(['submit', 'h1', '--id', 'gb', '--gpus', '1', b]));
    const [da, db] = [await devices('ga'), await devices('gb')];
    assert.equal(da, '0,1');
    assert.equal(db, '2');

    const c = await makeJob(join(sshHost.jobs, 'c'), { 'start.sh': 'echo ran\n' });
    const refused = await run(['submit', 'h1', '--id', 'gc', '--gpus', '1', c]);
    assert.equal(refused.code, 69, refused.stderr);
    assert.match(refused.stderr, /cannot enforce gpus 1 on this host/);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'ga', '--json']))) as { limits: unknown };
    assert.deepEqual(rec.limits, { gpus: { value: '2', enforced: true } });

    await stop('ga');
    const d = await makeJob(join(sshHost.jobs, 'd'), { 'start.sh': HOLD });
    ok(await run(['submit', 'h1', '--id', 'gd', '--gpus', '2', d]));
    assert.equal(await devices('gd'), '0,1', "the ended job's devices");
    await stop('gb');
    await stop('gd');
  });

  it('from nvidia-smi -L on the PATH when the queue has no gpus file; more than the host has is refused', async () => {
    await sh('rm -f ~/.tej/gpus; mkdir -p ~/fakebin');
    await sh(`printf '%s\\n' '#!/bin/sh' 'echo "GPU 0: Fake A100 (UUID: GPU-aaaa)"' 'echo "GPU 1: Fake A100 (UUID: GPU-bbbb)"' > ~/fakebin/nvidia-smi && chmod +x ~/fakebin/nvidia-smi`);
    // the helpers' PATH is the login shell's: bash reads ~/.bashrc for ssh commands
    await sh(`printf 'PATH=$HOME/fakebin:$PATH\\n' >> ~/.bashrc`);
    try {
      const e = await makeJob(join(sshHost.jobs, 'e'), { 'start.sh': HOLD });
      ok(await run(['submit', 'h1', '--id', 'ge', '--gpus', '2', e]));
      assert.equal(await devices('ge'), '0,1');
      const f = await makeJob(join(sshHost.jobs, 'f'), { 'start.sh': 'echo ran\n' });
      const refused = await run(['submit', 'h1', '--id', 'gf', '--gpus', '3', f]);
      assert.equal(refused.code, 69, refused.stderr);
      await stop('ge');
    } finally {
      await sh("sed -i '/fakebin/d' ~/.bashrc");
    }
  });
});

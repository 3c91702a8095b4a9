// A busy host: sshd's default MaxStartups (10:30:100) drops connections beyond 10 unauthenticated ones
// at random, before the SSH handshake. 100 clients at once must all get through: tej retries a
// connection closed before the handshake more often than other failures, at random times
// (src/transport/busy.ts, src/connect.ts). The clients are library sessions in this process (100 CLI
// processes would only add node start-ups); each opens its own SSH connection, as a CLI would.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/connect.js';
import { makeJob } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

describe("a host with sshd's default MaxStartups", () => {
  let lab: Lab<'busy'>;
  let home: string;
  const savedHome = process.env.HOME;

  // its own startLab, not useSshHost(): a host named busy with its own sshd setting
  before(async () => {
    lab = await startLab({ hosts: [{ name: 'busy', sshd: { MaxStartups: '10:30:100' } }] });
    home = await makeClientHome(lab);
    process.env.HOME = home; // ~/.ssh/config of the lab, for the library
  });
  after(async () => {
    process.env.HOME = savedHome;
    await lab?.stop();
  });

  it('takes 100 concurrent submits, each on its own connection: all of them succeed', async () => {
    const config = await lab.exec('busy', ['/usr/sbin/sshd', '-T', '-f', '/etc/ssh/sshd_config']);
    assert.match(config.stdout, /^maxstartups 10:30:100$/m, 'the lab host has the default');
    const setup = await connect('busy');
    await setup.setup();
    await setup.close();
    const dir = await makeJob(join(home, 'job'), { 'start.sh': 'echo ran > out.txt\n' });
    const retries: string[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, async (_, i) => {
        const q = await connect('busy', { onEvent: (e) => (e.kind === 'retry' ? retries.push(e.error) : undefined) });
        try {
          return (await q.submit(dir, { id: `busy-${i}` })).id;
        } finally {
          await q.close();
        }
      }),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`busy-${i}: ${(r.reason as Error).message}`] : []));
    assert.deepEqual(failed, [], `${failed.length} of 100 failed`);
    // what makes this test mean something: the host did turn connections away
    assert.ok(retries.some((e) => /before handshake/.test(e)), `no connection was refused; retries: ${retries.slice(0, 3).join('; ')}`);
    const check = await connect('busy');
    try {
      const statuses = await check.statuses(Array.from({ length: 100 }, (_, i) => `busy-${i}`));
      assert.equal([...statuses.values()].filter(Boolean).length, 100, 'every job is there');
    } finally {
      await check.close();
    }
  });
});

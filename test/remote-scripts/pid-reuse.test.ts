// pid_max is 32768 here and pids come back within minutes: the helpers never signal a pid (or a
// process group of that number) that they cannot prove is still the job's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { groupMembers, processAlive, Queue, SHELLS, waitFor } from './_queue.js';

describe('reused pids', { concurrency: SHELLS.length }, () => {
  for (const shell of SHELLS) {
    describe(`under ${shell.name}`, () => {
      test('kill of a lost job leaves alone a process group that took the dead wrapper\'s number', async (t) => {
        const q = await Queue.setUp(shell);
        t.after(() => q.cleanUp());
        const rec = await q.submit('lost', { command: 'sleep 1000' });
        const wrapper = Number(rec.native_id);
        await waitFor('the job to start', () => (q.processes().length >= 2 ? true : undefined));
        await q.killAll();
        await q.waitState('lost', ['lost']);
        // A stranger: a group whose leader has exited, its member runs on (setsid: a new group).
        const stranger = spawn('setsid', ['sh', '-c', 'sleep 1001 & echo $$'], { stdio: ['ignore', 'pipe', 'ignore'] });
        const pgid = Number(await new Promise<string>((r) => stranger.stdout.once('data', (d) => r(String(d)))));
        await waitFor('the leader to exit', () => (!processAlive(pgid) && groupMembers(pgid).length === 1 ? true : undefined));
        const member = groupMembers(pgid)[0]!;
        t.after(() => process.kill(member, 'SIGKILL'));
        // As if the dead wrapper's pid had gone to that group's leader.
        writeFileSync(join(q.jobDir('lost'), 'native-id'), `${pgid}\n`);
        assert.notEqual(pgid, wrapper);
        const k = await q.ok(['kill', 'lost', '--grace', '1']);
        assert.equal(k.records[0]!.state, 'lost');
        assert.ok(processAlive(member), 'the stranger group\'s process lives');
      });
    });
  }
});

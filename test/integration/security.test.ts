// Security, end to end: private queue and job directories, no user string reaching a remote shell
// unquoted, helpers verified before they run, tar-slip through a real download. (Host keys: core.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, waitFor, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

/** Shell payloads: each creates /tmp/pwned-<tag> if any shell (remote or local) evaluates it. */
function payloads(tag: string): string[] {
  const f = `/tmp/pwned-${tag}`;
  return [`$(touch ${f}a)`, `\`touch ${f}b\``, `';touch ${f}c;'`, `";touch ${f}d;"`, `x;touch ${f}e`, `x|touch ${f}f`, `x&&touch ${f}g`, `$(touch\t${f}h)`];
}

describe('security', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], cwd?: string) => tej(args, { home: sshHost.home, cwd, timeoutMs: 60_000 });
  const pwned = async () => {
    const remote = await sshHost.lab.exec('h1', ['sh', '-c', 'ls /tmp | grep pwned || true']);
    const local = readdirSync('/tmp').filter((f) => f.startsWith('pwned'));
    return [...remote.stdout.split('\n').filter(Boolean).map((f) => `h1:${f}`), ...local];
  };

  it('keeps the queue, staging and every job private (0700) whatever the umask, and other users out', async () => {
    await sshHost.lab.execAs('h1', 'alice', 'echo "umask 000" >> ~/.bashrc');
    const r = await run(['setup', 'h1', '--queue', '/tmp/shared-q']);
    ok(r);
    const dir = await makeJob(join(sshHost.jobs, 'priv'), { 'start.sh': 'echo secret > secret.txt\n' });
    ok(await run(['submit', 'h1', '--queue', '/tmp/shared-q', '--id', 'priv1', dir]));
    await waitFor('priv1', () => run(['status', 'h1', '--queue', '/tmp/shared-q', '--id', 'priv1']), (s) => s.code === 0);
    const modes = await sshHost.lab.execAs('h1', 'alice', 'stat -c "%a %n" /tmp/shared-q /tmp/shared-q/jobs /tmp/shared-q/staging /tmp/shared-q/jobs/priv1');
    assert.equal(modes.stdout, ['/tmp/shared-q', '/tmp/shared-q/jobs', '/tmp/shared-q/staging', '/tmp/shared-q/jobs/priv1'].map((p) => `700 ${p}\n`).join(''));
    const bob = await sshHost.lab.execAs('h1', 'bob', 'ls /tmp/shared-q/jobs; cat /tmp/shared-q/jobs/priv1/work/secret.txt');
    assert.notEqual(bob.code, 0);
    assert.match(bob.stderr, /Permission denied/);
    await sshHost.lab.execAs('h1', 'alice', "sed -i '/umask 000/d' ~/.bashrc");
  });

  it('no user string reaches a shell unquoted: injection through every argument does nothing', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'inject'), { 'start.sh': 'echo ran > ran.txt\n' });
    const tries: { args: string[]; codes: number[] }[] = [];
    for (const p of payloads('id')) tries.push({ args: ['submit', 'h1', '--id', p, dir], codes: [65] });
    for (const p of payloads('dest').slice(0, 4)) tries.push({ args: ['list', `alice@h1${p}`], codes: [64, 65, 75, 77] });
    for (const p of payloads('plugin').slice(0, 4)) tries.push({ args: ['submit', 'h1', '--plugin', p, dir], codes: [65] });
    for (const p of payloads('tl').slice(0, 4)) tries.push({ args: ['submit', 'h1', '--time-limit', p, dir], codes: [64] }); // a bad flag value is a usage error
    for (const p of payloads('statusid').slice(0, 4)) tries.push({ args: ['status', 'h1', '--id', p], codes: [65] });
    for (const p of payloads('killid').slice(0, 4)) tries.push({ args: ['kill', 'h1', '--id', p], codes: [65] });
    for (const p of payloads('delid').slice(0, 4)) tries.push({ args: ['delete', 'h1', '--id', p], codes: [65] });
    for (const p of payloads('dlid').slice(0, 4)) tries.push({ args: ['download', 'h1', '--id', p, 'x'], codes: [65] });
    for (const p of payloads('spec').slice(0, 4)) tries.push({ args: ['download', 'h1', '--id', 'safe1', p], codes: [65, 66] });
    for (const t of tries) {
      const r = await run(t.args);
      assert.ok(t.codes.includes(r.code ?? -1), `${JSON.stringify(t.args)}: exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /^tej: /m, `${JSON.stringify(t.args)}: a message`);
    }
    // Strings that are valid are taken literally, never evaluated: queue path, env values, args,
    // file names in the job, the job's own id.
    const files: Record<string, string> = { 'start.sh': 'printf "%s\\n" "$@" > args.txt; printf "%s\\n" "$EVIL" > env.txt; ls > ls.txt\n' };
    payloads('file').forEach((p, i) => (files[`f${i}${p.replace(/\//g, '_')}`] = 'x'));
    const evil = await makeJob(join(sshHost.jobs, 'evil'), { ...files, 'tej.json': JSON.stringify({ args: payloads('arg') }) });
    const queue = `/tmp/q ${payloads('queue')[0]}`;
    const sub = await run(['submit', 'h1', evil, '--queue', queue, '--id', 'safe1', '--env', `EVIL=${payloads('env').join(' ')}`]);
    assert.equal(ok(sub), 'safe1\n');
    await waitFor('safe1', () => run(['status', 'h1', '--queue', queue, '--id', 'safe1']), (s) => s.code === 0);
    const args = ok(await run(['download', 'h1', '--queue', queue, '--id', 'safe1', 'args.txt:']));
    assert.equal(args, payloads('arg').join('\n') + '\n');
    assert.equal(ok(await run(['download', 'h1', '--queue', queue, '--id', 'safe1', 'env.txt:'])), `${payloads('env').join(' ')}\n`);
    const ls = ok(await run(['download', 'h1', '--queue', queue, '--id', 'safe1', 'ls.txt:']));
    for (const name of Object.keys(files)) assert.ok(ls.split('\n').includes(name), `${name} arrived under its own name`);
    const literal = await sshHost.lab.execAs('h1', 'alice', `test -d '/tmp/q $(touch /tmp/pwned-queuea)/jobs/safe1'`);
    assert.equal(literal.code, 0, 'the queue is the literal path');
    for (const name of Object.keys(files).filter((n) => n.startsWith('f'))) {
      const r = await run(['download', 'h1', '--queue', queue, '--id', 'safe1', `${name}:`]);
      assert.equal(ok(r), 'x', name);
    }
    assert.deepEqual(await pwned(), [], 'no payload ran anywhere');
  });

  it('a helper modified on the host is detected before it runs, and the shipped one put back', async () => {
    await sshHost.lab.execAs('h1', 'alice', `printf '\\ntouch /tmp/pwned-helper\\n' >> ~/.tej/commands/list.sh; printf '\\ntouch /tmp/pwned-lib\\n' >> ~/.tej/lib/common.sh`);
    const r = await run(['list', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^tej: warning: the tej helpers in ~\/\.tej were modified after they were installed; reinstalling them$/m);
    assert.deepEqual(await pwned(), [], 'the modified helper never ran');
    const check = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && sha256sum -c MANIFEST >/dev/null && grep -c pwned commands/list.sh lib/common.sh');
    assert.equal(check.stdout, 'commands/list.sh:0\nlib/common.sh:0\n', 'reinstalled from the bundle');
    const again = await run(['list', 'h1']);
    assert.equal(again.code, 0);
    assert.doesNotMatch(again.stderr, /modified/);
  });

  it('a helper a job turned into a FIFO neither holds a command up nor stays: it is put back', async () => {
    // sha256sum would wait on the FIFO for a writer that never comes, and every later command with it.
    await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && rm lib/kill.sh && mkfifo lib/kill.sh && ln -sf lib/kill.sh commands/show.sh');
    const r = await run(['list', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^tej: warning: the tej helpers in ~\/\.tej were modified after they were installed; reinstalling them$/m);
    const check = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && test -f lib/kill.sh && test ! -L commands/show.sh && sha256sum -c MANIFEST >/dev/null && echo ok');
    assert.equal(check.stdout, 'ok\n', check.stderr);
  });

  it('a job that edits the dispatcher itself and rewrites MANIFEST to match gets nothing run', async () => {
    // What a job can do as the queue's user: plant a line at the top of tej-remote and of a command,
    // then make the host's MANIFEST agree. The client checks against its own MANIFEST, sent with each call.
    const plant = [
      'cd ~/.tej',
      "sed -i '2i touch /tmp/pwned-dispatcher' tej-remote",
      "sed -i '2i touch /tmp/pwned-status' commands/status.sh",
      'sha256sum $(cut -c67- MANIFEST) > MANIFEST.new && mv MANIFEST.new MANIFEST',
      'sha256sum -c MANIFEST >/dev/null',
    ].join(' && ');
    const planted = await sshHost.lab.execAs('h1', 'alice', plant);
    assert.equal(planted.code, 0, planted.stderr);
    const r = await run(['status', 'h1', '--id', 'nosuchjob']);
    assert.equal(r.code, 66, r.stderr);
    assert.match(r.stderr, /^tej: warning: the tej helpers in ~\/\.tej were modified after they were installed; reinstalling them$/m);
    assert.deepEqual(await pwned(), [], 'neither the edited dispatcher nor the edited command ran');
    const check = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && grep -c pwned tej-remote commands/status.sh');
    assert.equal(check.stdout, 'tej-remote:0\ncommands/status.sh:0\n', 'reinstalled from the bundle');
  });

  it('a job that serves the helpers checked and rewritten between two reads gets nothing run', async () => {
    // The job turns helpers into FIFOs that give their shipped text to the first reader and a planted
    // line to the next: a call that checked the files and then read them again to run them would run
    // the planted line, deterministically. A call runs only the helper program, read once and checked
    // in memory; the wrapper of a job submitted meanwhile runs from it too.
    const served = ['tej-remote', 'lib/common.sh', 'lib/proc.sh', 'lib/state.sh', 'lib/kill.sh', 'lib/run-job.sh', 'commands/list.sh', 'commands/status.sh', 'commands/submit.sh', 'queues/direct.sh'];
    // One FIFO server per helper: the shipped text, then the planted one, to readers one after another
    // (it waits for a reader to close before it opens for the next one: a writer that opens while a
    // reader still has the FIFO open would write into that reader's stream).
    const server = [
      'use Fcntl; use POSIX ();',
      'my ($f, @files) = @ARGV;',
      'my @data = map { open(my $h, "<", $_) or die "$_: $!"; local $/; scalar <$h> } @files;',
      'for (my $i = 0; -p $f; $i++) {',
      '  open(my $w, ">", $f) or exit 0; print $w $data[$i % 2]; close $w;',
      '  while (sysopen(my $t, $f, O_WRONLY | O_NONBLOCK)) { close $t; select(undef, undef, undef, 0.01); }',
      '}',
    ].join(' ');
    const race = await makeJob(join(sshHost.jobs, 'race'), {
      'server.pl': `${server}\n`,
      'start.sh': [
        'd=$(mktemp -d) && s=$PWD/server.pl && cd "$TEJ_QUEUE" || exit 1',
        `for f in ${served.join(' ')}; do`,
        '  n=$(echo "$f" | tr / -)',
        '  cp "$f" "$d/$n.good" && { echo "touch /tmp/pwned-race-$n"; cat "$f"; } >"$d/$n.evil" && rm "$f" && mkfifo "$f" || exit 1',
        '  perl "$s" "$f" "$d/$n.good" "$d/$n.evil" &',
        'done',
        'touch "$HOME/race-ready"',
        'wait',
        '',
      ].join('\n'),
    });
    ok(await run(['submit', 'h1', '--id', 'race1', race]));
    await waitFor('the FIFOs', () => sshHost.lab.execAs('h1', 'alice', 'test -e ~/race-ready'), (r) => r.code === 0, 60_000);
    const st = await run(['status', 'h1', '--id', 'race1', '--json']);
    assert.deepEqual(await pwned(), [], 'the first command ran no planted line');
    assert.equal(JSON.parse(st.stdout).state, 'running', st.stderr);
    ok(await run(['list', 'h1']));
    const late = await makeJob(join(sshHost.jobs, 'late'), { 'start.sh': 'echo late ran\n' });
    ok(await run(['submit', 'h1', '--id', 'late1', late]));
    ok(await run(['wait', 'h1', '--id', 'late1']));
    const k = await run(['kill', 'h1', '--id', 'race1']);
    assert.equal(k.code, 0, k.stderr);
    assert.deepEqual(await pwned(), [], 'no planted line ran');
    const logs = await run(['logs', 'h1', '--id', 'late1']);
    assert.equal(logs.stdout, 'late ran\n');
    await sshHost.lab.execAs('h1', 'alice', 'rm -f ~/race-ready');
  });

  it('a download never writes outside its destination, even from a job full of hostile symlinks', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'links'), {
      'start.sh': 'mkdir -p out/sub; echo ok > out/ok.txt; ln -s /etc/passwd out/abs; ln -s ../../.. out/up; ln -s . out/self; ln -s ../.. out/sub/up2; ln -s ../../../.. out/up4\n',
    });
    ok(await run(['submit', 'h1', '--id', 'links1', dir]));
    await waitFor('links1', () => run(['status', 'h1', '--id', 'links1']), (s) => s.code === 0);
    const cwd = await sshHost.lab.makeTmpDir('tej-dl-');
    await mkdir(join(cwd, 'here'));
    const r = await run(['download', 'h1', '--id', 'links1', 'out:here/'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 4 entries that would point outside/);
    assert.ok(existsSync(join(cwd, 'here', 'out', 'ok.txt')));
    assert.ok(existsSync(join(cwd, 'here', 'out', 'self')), 'a link inside is kept');
    for (const l of ['abs', 'up', 'sub/up2', 'up4']) assert.ok(!existsSync(join(cwd, 'here', 'out', l)), l);
    // the job's own symlinks cannot lead a download spec out of the job either
    for (const spec of ['out/abs', 'out/up', 'out/up4/VERSION', 'out/up4/jobs']) {
      const bad = await run(['download', 'h1', '--id', 'links1', spec], cwd);
      assert.equal(bad.code, 65, `${spec}: ${bad.stderr}`);
      assert.match(bad.stderr, /outside/);
    }
  });
});

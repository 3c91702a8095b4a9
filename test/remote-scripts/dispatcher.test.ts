// The dispatcher and setup: protocol and bundle checks, command validation, the queue layout, exit codes.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply, REMOTE_SCRIPTS, shellcheck, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** What setup writes as gnu_tar= here: the path of tar when it is GNU tar (as on Debian), else ''. */
const GNU_TAR = execFileSync('tar', ['--version'], { encoding: 'utf8' }).includes('GNU tar') ? execFileSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).trim() : '';

describe('the dispatcher and setup', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('setup creates private jobs/ and staging/, writes config and reports the queue', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const r = await q.run(['setup']);
      assert.equal(r.code, 0, r.stderr);
      const { header } = parseReply(r.stdout);
      assert.equal(header.queue, realpathSync(q.root));
      assert.equal(header.plugin, 'direct');
      assert.equal(header.version, '0.0.0-test');
      assert.match(header.now!, /^\d+$/);
      for (const dir of ['', 'jobs', 'staging']) assert.equal(statSync(join(q.root, dir)).mode & 0o777, 0o700, `mode of ${dir || 'the queue'}`);
      assert.equal(readFileSync(join(q.root, 'config'), 'utf8'), `plugin=direct\ngnu_tar=${GNU_TAR}\n`);
    });

    test('setup keeps the plugin configured before and refuses an unknown one with 65', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'queues', 'other.sh'), 'queue_check() { return 0; }\n');
      assert.equal((await q.ok(['setup', '--plugin', 'other'])).header.plugin, 'other');
      assert.equal((await q.ok(['setup'])).header.plugin, 'other');
      assert.equal(readFileSync(join(q.root, 'config'), 'utf8'), `plugin=other\ngnu_tar=${GNU_TAR}\n`);
      const bad = await q.run(['setup', '--plugin', 'nosuch']);
      assert.equal(bad.code, 65);
      assert.match(bad.stderr, /^tej-remote: unknown plugin/m);
      const evil = await q.run(['setup', '--plugin', '../lib/common']);
      assert.equal(evil.code, 65);
    });

    test('setup refuses a plugin whose queue_check fails with 69', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'queues', 'nohost.sh'), 'queue_check() { say "no sbatch here"; return 69; }\n');
      const r = await q.run(['setup', '--plugin', 'nohost']);
      assert.equal(r.code, 69);
      assert.match(r.stderr, /no sbatch here/);
      assert.equal(readFileSync(join(q.root, 'config'), 'utf8'), `plugin=direct\ngnu_tar=${GNU_TAR}\n`);
    });

    test('setup --link makes or replaces a symlink and refuses to replace a file with 73', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const link = join(q.tmp, 'link');
      await q.ok(['setup', '--link', link]);
      assert.equal(readlinkSync(link), realpathSync(q.root));
      unlinkSync(link);
      mkdirSync(join(q.tmp, 'elsewhere'));
      symlinkSync(join(q.tmp, 'elsewhere'), link);
      await q.ok(['setup', '--link', link]);
      assert.equal(readlinkSync(link), realpathSync(q.root));
      assert.ok(!existsSync(join(q.tmp, 'elsewhere', 'queue')), 'the old target is left alone');
      const file = join(q.tmp, 'file');
      writeFileSync(file, 'mine');
      const r = await q.run(['setup', '--link', file]);
      assert.equal(r.code, 73);
      assert.ok(lstatSync(file).isFile(), 'the file is left alone');
    });

    test('a different protocol version exits 76 and names the installed one', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const r = await q.run(['--proto', '2', '--hash', 'testhash', 'list'], { raw: true });
      assert.equal(r.code, 76);
      assert.equal(r.stdout.toString(), 'tej-proto=1\n');
      assert.match(r.stderr, /^tej-remote: protocol mismatch/m);
    });

    test('a different bundle hash exits 76 with the installed hash, and a missing VERSION too', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const r = await q.run(['--proto', '1', '--hash', 'other', 'list'], { raw: true });
      assert.equal(r.code, 76);
      assert.equal(r.stdout.toString(), 'tej-proto=1\nhash=testhash\n');
      unlinkSync(join(q.root, 'VERSION'));
      const missing = await q.run(['list']);
      assert.equal(missing.code, 76);
      assert.equal(missing.stdout.toString(), 'tej-proto=1\nhash=\n');
    });

    test('a helper modified after install is never run: 76 with hash=modified; a missing MANIFEST too', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const marker = join(q.tmp, 'tampered-ran');
      for (const file of ['commands/list.sh', 'lib/common.sh', 'lib/state.sh']) {
        const path = join(q.root, file);
        const original = readFileSync(path);
        writeFileSync(path, `${original}\ntouch '${marker}'\n`);
        const r = await q.run(['list']);
        assert.equal(r.code, 76, `${file}: ${r.stderr}`);
        assert.equal(r.stdout.toString(), 'tej-proto=1\nhash=modified\n');
        assert.match(r.stderr, /^tej-remote: the helpers installed in .* were modified after they were installed$/m);
        assert.ok(!existsSync(marker), `${file}: the modified helper did not run`);
        writeFileSync(path, original);
      }
      // a user's own plugin next to the shipped ones is not part of the bundle
      writeFileSync(join(q.root, 'queues', 'mine.sh'), 'queue_check() { return 0; }\n');
      assert.equal((await q.run(['list'])).code, 0);
      unlinkSync(join(q.root, 'MANIFEST'));
      const missing = await q.run(['list']);
      assert.equal(missing.code, 76);
      assert.equal(missing.stdout.toString(), 'tej-proto=1\nhash=modified\n');
    });

    test('a queue open to other users is refused with 77 naming chmod 700, and setup repairs it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const mode of [0o755, 0o770, 0o701, 0o777]) {
        chmodSync(q.root, mode);
        const r = await q.run(['list']);
        assert.equal(r.code, 77, `mode ${mode.toString(8)}: ${r.stderr}`);
        assert.match(r.stderr, /^tej-remote: the queue .* is open to other users \(mode d[rwx-]{9}\): run chmod 700 '/m);
        assert.equal(r.stdout.length, 0);
      }
      await q.ok(['setup']);
      assert.equal(statSync(q.root).mode & 0o777, 0o700);
      assert.equal((await q.run(['list'])).code, 0);
    });

    test("a queue owned by another uid is refused with 77 naming its owner", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      chownSync(q.root, 4242, 4242);
      const r = await q.run(['list']);
      assert.equal(r.code, 77, r.stderr);
      assert.match(r.stderr, /^tej-remote: the queue .* belongs to uid 4242, not to you$/m);
      assert.equal(r.stdout.length, 0);
      chownSync(q.root, process.getuid!(), process.getgid!());
      assert.equal((await q.run(['list'])).code, 0);
    });

    test('an unknown command, a missing --proto or no command exits 64', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const args of [['--proto', '1', 'rm'], ['list'], ['--proto', '1'], ['--proto', '1', '../commands/list'], ['--proto']]) {
        const r = await q.run(args, { raw: true });
        assert.equal(r.code, 64, args.join(' '));
        assert.equal(r.stdout.length, 0);
        assert.match(r.stderr, /^tej-remote: /);
      }
    });

    test('commands on a queue that is not set up exit 69', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      for (const args of [['list'], ['status', 'a'], ['kill', 'a'], ['delete', 'a'], ['download', 'a', 'x'], ['submit', 'a', 'n']]) {
        const r = await q.run(args);
        assert.equal(r.code, 69, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /not set up/);
      }
    });

    test('the commands run under TEJ_SHELL, which the dispatcher exports', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // A TEJ_SHELL that logs each script it runs, then runs it with the shell under test.
      const log = join(q.tmp, 'shell.log');
      writeFileSync(q.wrapper, `#!/bin/sh\necho "$1" >>${log}\nexec ${shell.argv.join(' ')} "$@"\n`);
      await q.submit('logged', { command: 'exit 0' });
      await waitFor('the job to end', () => (existsSync(join(q.jobDir('logged'), 'exit-code')) ? true : undefined));
      const root = realpathSync(q.root);
      // The dispatcher ran submit.sh, the direct plugin ran run-job.sh, which ran the job's command.
      assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [`${root}/commands/submit.sh`, `${root}/lib/run-job.sh`, '-c']);
    });

    test('without TEJ_SHELL (as the client runs it) the dispatcher runs the command itself: same replies and statuses', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const log = join(q.tmp, 'shell.log');
      writeFileSync(q.wrapper, `#!/bin/sh\necho "$1" >>${log}\nexec ${shell.argv.join(' ')} "$@"\n`);
      const bare = { TEJ_SHELL: '' };
      const sub = await q.run(['submit', 'own', 'N0nce'], { env: bare, input: await jobTar({ command: 'exit 3' }) });
      assert.equal(sub.code, 0, sub.stderr);
      await waitFor('the job to end', () => (existsSync(join(q.jobDir('own'), 'exit-code')) ? true : undefined));
      for (const args of [['status', 'own', 'nosuch'], ['list'], ['show', 'own']]) {
        const sourced = await q.run(args, { env: bare });
        const exec = await q.run(args);
        assert.equal(sourced.code, 0, sourced.stderr);
        assert.equal(sourced.stdout.toString().replace(/^now=\d+$/m, ''), exec.stdout.toString().replace(/^now=\d+$/m, ''), args.join(' '));
      }
      assert.match((await q.run(['status', 'own'], { env: bare })).stdout.toString(), /^exit_code=3$/m);
      // a command's own failure keeps its status: usage 64, a bad id 65
      assert.equal((await q.run(['status'], { env: bare })).code, 64);
      assert.equal((await q.run(['status', '../x'], { env: bare })).code, 65);
      // only the runs with TEJ_SHELL went through it
      assert.equal(readFileSync(log, 'utf8').trim().split('\n').filter((l) => l.endsWith('.sh') && l.includes('/commands/')).length, 3);
    });
  });
});

describe('the remote scripts', () => {
  test('shellcheck -s sh -x finds nothing in any of them', () => {
    const r = shellcheck(remoteScripts());
    assert.equal(r.code, 0, r.output);
  });

  test('every executable script (the dispatcher, the wrapper, the commands) starts with #!/bin/sh, the header block and set -eu', () => {
    const scripts = remoteScripts().filter((f) => f === 'tej-remote' || f === 'lib/run-job.sh' || f.startsWith('commands/'));
    assert.ok(scripts.length >= 12, `found only ${scripts.join(' ')}`);
    for (const f of scripts) {
      const text = readFileSync(join(REMOTE_SCRIPTS, f), 'utf8');
      assert.match(text, /^#!\/bin\/sh\n# Summary: .+\n# Usage: .+\n(#.*\n)*?# Output \(.*\): .+\n(#.*\n)*?# Exit: .+\n(#.*\n)*set -eu\n/, f);
    }
  });

  test('every library and plugin starts with a Summary line', () => {
    for (const f of remoteScripts().filter((f) => f.startsWith('lib/') || f.startsWith('queues/'))) {
      assert.match(readFileSync(join(REMOTE_SCRIPTS, f), 'utf8'), /^#!\/bin\/sh\n# Summary: .+\n/, f);
    }
  });

  test('a helper over 250 lines says why at its top (a # Length: line in its header)', () => {
    for (const f of remoteScripts().filter((f) => f === 'tej-remote' || f.endsWith('.sh'))) {
      const text = readFileSync(join(REMOTE_SCRIPTS, f), 'utf8');
      if (text.split('\n').length <= 250) continue;
      assert.match(text, /^#!\/bin\/sh\n(#.*\n)*?# Length: over 250 lines: .+\n/, f);
    }
  });

  test("docs/protocol.md's queue layout names every helper file, and none that is not there", () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const block = /^## Queue layout\n[^]*?^```\n([^]*?)^```$/m.exec(doc)?.[1];
    assert.ok(block, 'docs/protocol.md has a Queue layout block');
    // Its top-level entries: `  NAME   description`, the description going on in lines indented further.
    const entries = new Map<string, string>();
    let last = '';
    for (const line of block.split('\n')) {
      const entry = /^ {2}(\S+) +(.*)$/.exec(line);
      if (entry) entries.set((last = entry[1]!), entry[2]!);
      else if (/^ {20,}\S/.test(line) && last) entries.set(last, `${entries.get(last)!} ${line.trim()}`);
    }
    const files = remoteScripts();
    const named = [...entries.keys()].filter((n) => n === 'tej-remote' || n.startsWith('lib/'));
    assert.deepEqual(named.sort(), files.filter((f) => f === 'tej-remote' || f.startsWith('lib/')));
    const commands = /^one file per command: ([a-z ]+)$/.exec(entries.get('commands/<cmd>.sh') ?? '')?.[1]?.split(' ');
    assert.deepEqual(commands?.sort(), files.filter((f) => f.startsWith('commands/')).map((f) => f.slice('commands/'.length, -'.sh'.length)));
    for (const plugin of files.filter((f) => f.startsWith('queues/'))) {
      assert.match(entries.get('queues/<plugin>.sh') ?? '', new RegExp(`\\b${plugin.slice('queues/'.length, -'.sh'.length)}\\b`), plugin);
    }
  });

  test('lib/common.sh defines the exit codes of the protocol, one per line', () => {
    const text = readFileSync(join(REMOTE_SCRIPTS, 'lib/common.sh'), 'utf8');
    const codes = Object.fromEntries([...text.matchAll(/^(EX_[A-Z]+)=(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    assert.deepEqual(codes, {
      EX_OK: 0, EX_FAILURE: 1, EX_USAGE: 64, EX_DATAERR: 65, EX_NOINPUT: 66, EX_UNAVAILABLE: 69,
      EX_CANTCREAT: 73, EX_IOERR: 74, EX_TEMPFAIL: 75, EX_PROTOCOL: 76, EX_NOPERM: 77,
    });
  });

  test('the plugins hold function definitions only', () => {
    const plugins = remoteScripts().filter((f) => f.startsWith('queues/'));
    assert.ok(plugins.includes('queues/direct.sh') && plugins.includes('queues/slurm.sh'), plugins.join(' '));
    for (const plugin of plugins) {
      const text = readFileSync(join(REMOTE_SCRIPTS, plugin), 'utf8');
      // Outside function bodies there is nothing but comments and blank lines.
      let depth = 0;
      for (const line of text.split('\n')) {
        if (depth === 0 && !/^\s*(#.*)?$/.test(line)) assert.match(line, /^[a-z_]+\(\) \{$/, `${plugin}: top-level line: ${line}`);
        if (/^[a-z_]+\(\) \{$/.test(line)) depth++;
        if (line === '}') depth--;
      }
      assert.equal(depth, 0, plugin);
    }
  });
});

/** Every shell file of remote-scripts/, relative to it: the dispatcher and every *.sh below it. */
function remoteScripts(): string[] {
  const found = readdirSync(REMOTE_SCRIPTS, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(REMOTE_SCRIPTS, join(e.parentPath ?? e.path, e.name)))
    .filter((f) => f === 'tej-remote' || f.endsWith('.sh'));
  return found.sort();
}

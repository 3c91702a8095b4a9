// What reaches the login shell: only the constant commands of src/transport/remote-command.ts, which
// every login shell parses alike (tcsh expands `!` inside single quotes, fish reads `\'` inside them);
// the script and its data travel on stdin to /bin/sh. Run for real through each shell, and through an
// in-process SSH server whose exec runs `<login shell> -c <command>` as sshd does.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../helpers/ssh-keys.js';
import { shJoin, shLine } from '../../src/transport/quote.js';
import { EXEC_COMMAND, EXEC_SCRIPT, REMOTE_COMMANDS, SESSION_COMMAND } from '../../src/transport/remote-command.js';
import { SshTransport } from '../../src/transport/ssh.js';

/** Login shells as sshd runs them: argv before `-c COMMAND`. (Debian: tcsh fish zsh busybox posh.) */
const LOGIN_SHELLS: Record<string, string[]> = {
  dash: ['dash'],
  bash: ['bash'],
  zsh: ['zsh'],
  tcsh: ['tcsh'],
  fish: ['fish'],
  ash: ['busybox', 'ash'],
  posh: ['posh'],
};
/** Shells that may be /bin/sh, the one that reads the script. */
const SH_LIKES: Record<string, string[]> = { dash: ['dash'], bash: ['bash', '--posix'], ash: ['busybox', 'ash'], posh: ['posh'] };

const PWN = join(tmpdir(), `tej-pwn-${process.pid}`);
/** Words that each login shell would mis-parse if they ever reached it. */
const HOSTILE = [
  `a'; touch ${PWN} #`, "it's.txt", '!', '!!', 'a!b', '!$', '\\', "a\\'b", "\\'", '$HOME', '"$x"', '`id`', '$(id)', 'x y',
  'a\nb', '\n', 'cr\r', '~', '#', '%1', '^x^y', '{a,b}', '*', '(', ';', '&&', '|', '>', 'é', '',
];

function script(words: string[]): string {
  return `printf '%s\\0' ${shJoin(words)}; cat`;
}

const upload = Buffer.concat([Buffer.from('\nline\n'), randomBytes(4096), Buffer.from("'!\\")]);

function expected(words: string[]): Buffer {
  return Buffer.concat([Buffer.from(words.map((w) => `${w}\0`).join('')), upload]);
}

function runThrough(argv: string[], home: string, input: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('the commands tej gives sshd', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tej-remote-command-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(PWN, { force: true });
  });

  it('are exactly these constants: one line, one single-quoted word without ! \\ or \' in it', () => {
    assert.equal(EXEC_COMMAND, `/bin/sh -c 'IFS= read -r l && eval "$l"'`);
    assert.equal(EXEC_COMMAND, `/bin/sh -c '${EXEC_SCRIPT}'`);
    assert.equal(SESSION_COMMAND, '/bin/sh');
    assert.deepEqual(REMOTE_COMMANDS, [EXEC_COMMAND, SESSION_COMMAND]);
    for (const c of REMOTE_COMMANDS) {
      assert.doesNotMatch(c, /[\n\r!\\]/);
      const [outside, quoted = '', rest = ''] = c.split("'");
      assert.match(`${outside}${rest}`, /^[A-Za-z0-9/ -]*$/, c);
      assert.doesNotMatch(quoted, /['!\\\n]/, c);
    }
  });

  for (const [name, argv] of Object.entries(LOGIN_SHELLS)) {
    it(`run a script with hostile words and its upload intact under a ${name} login shell`, () => {
      const words = HOSTILE;
      const r = runThrough([...argv, '-c', EXEC_COMMAND], home, Buffer.concat([Buffer.from(`${shLine(script(words))}\n`), upload]));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout, expected(words));
      assert.equal(existsSync(PWN), false, 'nothing ran');
    });
  }

  for (const [name, argv] of Object.entries(SH_LIKES)) {
    it(`read the script's line and not a byte more with ${name} as /bin/sh, newlines in words included`, () => {
      const words = HOSTILE;
      const line = shLine(script(words));
      assert.doesNotMatch(line, /\n/);
      const r = runThrough([...argv, '-c', EXEC_SCRIPT], home, Buffer.concat([Buffer.from(`${line}\n`), upload]));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout, expected(words));
      // a multi-line script, and one as long as thousands of ids (an argument is at most 128 KiB)
      const long = Array.from({ length: 4000 }, (_, i) => `id-${i}-${'x'.repeat(30)}`);
      const multi = runThrough([...argv, '-c', EXEC_SCRIPT], home, Buffer.from(`${shLine(`set -- ${long.join(' ')}\nif true\nthen echo "$#"\nfi`)}\n`));
      assert.equal(multi.stdout.toString(), '4000\n', multi.stderr);
    });
  }
});

describe('SshTransport against a server that runs `<login shell> -c <command>`', () => {
  let home: string;
  let server: InstanceType<typeof ssh2.Server>;
  let port: number;
  const commands = new Set<string>();
  const savedHome = process.env.HOME;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tej-login-shells-'));
    const hostKey = ed25519KeyPair();
    const clientKey = ed25519KeyPair();
    server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
      let shell: string[] = ['false'];
      client.on('authentication', (ctx) => {
        shell = LOGIN_SHELLS[ctx.username] ?? ['false'];
        ctx.accept();
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, _reject, info) => {
            commands.add(info.command);
            const stream = acceptExec();
            const child = spawn(shell[0]!, [...shell.slice(1), '-c', info.command], {
              env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
            });
            child.stdin.on('error', () => undefined);
            stream.pipe(child.stdin);
            child.stdout.pipe(stream, { end: false });
            child.stderr.pipe(stream.stderr, { end: false });
            child.on('close', (code) => {
              stream.exit(code ?? 255);
              stream.end();
            });
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    await writeFile(join(home, '.ssh', 'id_ed25519'), clientKey.private, { mode: 0o600 });
    const pub = ssh2.utils.parseKey(hostKey.public) as { type: string; getPublicSSH(): Buffer };
    await writeFile(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${pub.type} ${pub.getPublicSSH().toString('base64')}\n`);
    process.env.HOME = home;
  });
  after(async () => {
    process.env.HOME = savedHome;
    server?.close();
    await rm(home, { recursive: true, force: true });
    await rm(PWN, { force: true });
  });

  for (const name of Object.keys(LOGIN_SHELLS)) {
    it(`runs scripts on the persistent shell and on channels with and without stdin under ${name}`, async () => {
      commands.clear();
      const transport = await SshTransport.connect(`ssh://${name}@127.0.0.1:${port}`);
      try {
        const words = HOSTILE;
        const plain = await transport.run(`printf '%s\\0' ${shJoin(words)}`);
        assert.equal(plain.code, 0, plain.stderr);
        assert.deepEqual(plain.stdout, expected(words).subarray(0, expected(words).length - upload.length));
        const up = await transport.run(script(words), { stdin: () => [upload] as unknown as AsyncIterable<Uint8Array> });
        assert.equal(up.code, 0, up.stderr);
        assert.deepEqual(up.stdout, expected(words));
        const chunks: Buffer[] = [];
        const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
        const down = await transport.run(`printf '%s\\0' ${shJoin(words)}; exit 3`, { stdout: sink });
        assert.equal(down.code, 3, down.stderr);
        assert.deepEqual(Buffer.concat(chunks), expected(words).subarray(0, expected(words).length - upload.length));
        // the session survives a script that cannot be parsed
        const bad = await transport.run('if then fi (');
        assert.notEqual(bad.code, 0);
        assert.equal((await transport.run('echo still')).stdout.toString(), 'still\n');
      } finally {
        await transport.close();
      }
      for (const c of commands) assert.ok(REMOTE_COMMANDS.includes(c), `sshd got ${JSON.stringify(c.slice(0, 60))}…, not a constant command`);
      assert.equal(commands.size, 2, 'the session and the channels');
      assert.equal(existsSync(PWN), false);
    });
  }
});

// The submit side as a user meets it, through the real sshd test host: ignore rules, dry runs, progress
// bars and colour on a real pseudo-terminal, the config file, shell completion.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, TEJ_BIN, waitFor, type TejRun, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { shQuote } from '../../src/transport/quote.js';

/** Runs tej with a terminal as stdin, stdout and stderr (util-linux `script`): what a user at a shell sees. */
function tejOnTty(args: string[], o: { home: string; env?: Record<string, string> }): Promise<TejRun> {
  // A wide terminal: on a narrow one the bar shortens its label to fit, which the tests do not want.
  const cmd = `stty cols 160; exec ${[process.execPath, TEJ_BIN, ...args].map(shQuote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: o.home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', TERM: 'xterm', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: '' });
    });
  });
}

const ESC = '\x1b[';
/** An ANSI colour or attribute sequence (Select Graphic Rendition). */
const SGR = /\x1b\[[0-9;]*m/;

describe('submit side and terminal UX over real SSH', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], extra: { env?: Record<string, string> } = {}) => tej(args, { home: sshHost.home, ...extra });
  const remote = async (cmd: string) => {
    const r = await sshHost.lab.execAs('h1', 'alice', cmd);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  describe('ignore rules', () => {
    it('never uploads what .tejignore and --exclude name, and uploads the rest', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'ign'), {
        'start.sh': 'find . ! -name "tej.std*" | sort > ../listing.txt\n',
        '.tejignore': '# build output\nbuild/\n*.log\n!keep.log\n',
        'build/a/b.o': 'x',
        'run.log': 'x',
        'keep.log': 'kept',
        'data/big.dat': 'x',
        'data/small.txt': 'y',
        'src/build/nested.o': 'x',
      });
      const id = ok(await run(['submit', 'h1', '--id', 'ign1', '--exclude', 'data/*.dat', dir])).trim();
      await waitFor('ign1 to finish', () => run(['status', 'h1', '--id', id]), (r) => r.code === 0);
      const listing = await remote(`cat ~/.tej/jobs/${id}/listing.txt`);
      assert.deepEqual(listing.trim().split('\n'), ['.', './.tejignore', './data', './data/small.txt', './keep.log', './src', './start.sh']);
    });

    it('refuses, naming the pattern, a submit whose script is excluded, and creates no job', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'ignscript'), { 'start.sh': 'echo hi\n', '.tejignore': '*.sh\n' });
      const r = await run(['submit', 'h1', '--id', 'ignscript1', dir]);
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /script 'start\.sh' is excluded from the upload by the pattern '\*\.sh' \(from \.tejignore\)/);
      assert.equal(await remote('test -e ~/.tej/jobs/ignscript1 && echo exists || echo absent'), 'absent\n');
      const viaFlag = await run(['submit', 'h1', '--id', 'ignscript2', '--exclude', '!start.sh', dir]);
      assert.equal(ok(viaFlag).trim(), 'ignscript2', '--exclude comes after .tejignore, so it can re-include');
    });
  });

  describe('dry run', () => {
    it('lists what would be sent with sizes and totals, and creates no job', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'dry'), { 'start.sh': 'echo hi\n', 'in/data.csv': 'a,b\n1,2\n', 'skip.log': 'x', '.tejignore': '*.log\n' });
      const before = await remote('ls ~/.tej/jobs | sort');
      const out = ok(await run(['submit', 'h1', '--id', 'dry1', '--dry-run', dir]));
      assert.equal(out, ' 6  .tejignore\n 8  in/data.csv\n 8  start.sh\n3 files, 22 bytes (22 B)\n');
      const json = JSON.parse(ok(await run(['submit', 'h1', '--dry-run', '--json', '--exclude', 'in/', dir])));
      assert.deepEqual(json.entries.map((e: { path: string; size: number }) => [e.path, e.size]), [['.tejignore', 6], ['start.sh', 8]]);
      assert.equal(json.files, 2);
      assert.equal(json.bytes, 14);
      assert.equal(await remote('ls ~/.tej/jobs | sort'), before, 'no job was created');
    });

    it('needs no connection: a host that does not resolve is not contacted', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'dry2'), { 'start.sh': 'echo hi\n' });
      const out = ok(await run(['submit', 'nosuchhost.invalid', '--dry-run', dir]));
      assert.match(out, /1 file, 8 bytes/);
    });
  });

  describe('tej.json', () => {
    it('runs the job it describes: script, args, env, time limit in human units, output files, resources, labels', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'spec'), {
        'run.sh': 'printf "%s|" "$@" > args.txt; echo "$GREETING" >> args.txt; echo oops >&2\n',
        'tej.json': JSON.stringify({
          $schema: 'https://github.com/tej/tej/schema/tej.schema.json',
          script: 'run.sh',
          args: ['a b', '$HOME'],
          env: { GREETING: 'hello there' },
          time_limit: '1h30m',
          cpus: 2,
          memory: '4G',
          gpus: 0,
          stderr: 'my.err',
          labels: { experiment: 'e1' },
          slurm: { partition: 'short' },
          // direct cannot honour a partition: without this the submit is refused (69)
          allow_unenforced: true,
        }),
      });
      const id = ok(await run(['submit', 'h1', '--id', 'spec1', dir])).trim();
      await waitFor('spec1 to finish', () => run(['status', 'h1', '--id', id]), (r) => r.code === 0);
      assert.equal(ok(await run(['download', 'h1', '--id', id, 'args.txt:'])), 'a b|$HOME|hello there\n');
      assert.equal(ok(await run(['download', 'h1', '--id', id, 'my.err:'])), 'oops\n');
      assert.equal(await remote(`cat ~/.tej/jobs/${id}/meta/time_limit`), '5400');
      const recorded = JSON.parse(await remote(`cat ~/.tej/jobs/${id}/meta/spec.json`));
      assert.deepEqual([recorded.labels, recorded.memory, recorded.gpus, recorded.slurm], [{ experiment: 'e1' }, '4G', 0, { partition: 'short' }]);
      const shown = JSON.parse(ok(await run(['show', 'h1', '--id', id, '--json']))) as { limits: unknown };
      assert.deepEqual(shown.limits, { memory: { value: '4G', enforced: true }, cpus: { value: '2', enforced: true }, partition: { value: 'short', enforced: false } });
    });

    it('refuses unknown fields, nested ones too, with their path and exit 78, before creating a job', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'specbad'), {
        'start.sh': 'echo hi\n',
        'tej.json': JSON.stringify({ cpu: 2, time_limit: '90 minutes', slurm: { partiton: 'short' } }),
      });
      const r = await run(['submit', 'h1', '--id', 'specbad1', dir]);
      assert.equal(r.code, 78, r.stderr);
      assert.ok(r.stderr.includes(`${join(dir, 'tej.json')} does not match the tej.json schema`), r.stderr);
      assert.match(r.stderr, /\(top level\): unknown field 'cpu'/);
      assert.match(r.stderr, /\/slurm: unknown field 'partiton'/);
      assert.match(r.stderr, /\/time_limit: must match pattern/);
      assert.match(r.stderr, /tej schema/);
      assert.equal(await remote('test -e ~/.tej/jobs/specbad1 && echo yes || echo no'), 'no\n');
    });

    it('tej schema prints the schema the file is checked against', async () => {
      const schema = JSON.parse(ok(await run(['schema'])));
      assert.deepEqual(schema, JSON.parse(await readFile(new URL('../../schema/tej.schema.json', import.meta.url), 'utf8')));
      for (const field of ['script', 'args', 'env', 'time_limit', 'cpus', 'memory', 'gpus', 'stdout', 'stderr', 'labels', 'plugin', 'slurm']) {
        assert.ok(schema.properties[field]?.description, `${field} is described`);
      }
      assert.equal(schema.additionalProperties, false);
      const config = JSON.parse(ok(await run(['schema', 'config'])));
      assert.equal(config.$id, 'https://github.com/tej/tej/schema/config.schema.json');
    });
  });

  describe('config file', () => {
    let xdg: string;
    const withConfig = async (config: unknown) => {
      xdg = await sshHost.lab.makeTmpDir('tej-xdg-');
      await mkdir(join(xdg, 'tej'));
      await writeFile(join(xdg, 'tej', 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
      return { env: { XDG_CONFIG_HOME: xdg } };
    };

    it("uses the host entry's queue over the defaults, for setup and every later command", async () => {
      const env = await withConfig({ defaults: { queue: '~/default-q' }, hosts: { h1: { queue: '~/cfg-q' } } });
      assert.match(ok(await run(['setup', 'h1'], env)), /^\/home\/alice\/cfg-q \(plugin direct/);
      const dir = await makeJob(join(sshHost.jobs, 'cfgq'), { 'start.sh': 'echo hi\n' });
      assert.equal(ok(await run(['submit', 'h1', '--id', 'cfgq1', dir], env)), 'cfgq1\n');
      assert.equal(await remote('ls ~/cfg-q/jobs'), 'cfgq1\n');
      assert.equal(await remote('test -e ~/default-q && echo yes || echo no'), 'no\n');
      await waitFor('cfgq1 to finish', () => run(['status', 'h1', '--id', 'cfgq1'], env), (r) => r.code === 0);
      // --queue on the command line wins over the file
      assert.equal((await run(['status', 'h1', '--id', 'cfgq1', '--queue', '~/.tej'], env)).stdout, 'no such job\n');
    });

    it('fills resources in under tej.json and flags: CLI > tej.json > host entry > defaults', async () => {
      const env = await withConfig({
        defaults: { resources: { cpus: 2, time_limit: '1h' } },
        hosts: { h1: { resources: { cpus: 5 } } },
      });
      const script = 'echo "nproc=$TEJ_JOB_NPROC" > res.txt; cat "$TEJ_QUEUE/jobs/$TEJ_JOB_ID/meta/time_limit" >> res.txt\n';
      const plain = await makeJob(join(sshHost.jobs, 'cfgres'), { 'start.sh': script });
      const withSpec = await makeJob(join(sshHost.jobs, 'cfgres2'), { 'start.sh': script, 'tej.json': JSON.stringify({ cpus: 3 }) });
      const cases: [string, string[], string][] = [
        ['cfgres1', [plain], 'nproc=5\n3600'],
        ['cfgres2', [withSpec], 'nproc=3\n3600'],
        ['cfgres3', ['--cpus', '7', '--time-limit', '90s', withSpec], 'nproc=7\n90'],
      ];
      for (const [id, args] of cases) ok(await run(['submit', 'h1', '--id', id, ...args], env));
      for (const [id, , expected] of cases) {
        await waitFor(`${id} to finish`, () => run(['status', 'h1', '--id', id], env), (r) => r.code === 0);
        assert.equal(ok(await run(['download', 'h1', '--id', id, 'res.txt:'], env)), expected, id);
      }
    });

    it("uses the config's plugin unless tej.json or --plugin names one", async () => {
      const env = await withConfig({ hosts: { h1: { plugin: 'nosuchplugin' } } });
      const dir = await makeJob(join(sshHost.jobs, 'cfgplug'), { 'start.sh': 'echo hi\n' });
      const r = await run(['submit', 'h1', '--id', 'cfgplug1', dir], env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /nosuchplugin/);
      assert.equal(ok(await run(['submit', 'h1', '--id', 'cfgplug2', '--plugin', 'direct', dir], env)), 'cfgplug2\n');
      const withSpec = await makeJob(join(sshHost.jobs, 'cfgplug3'), { 'start.sh': 'echo hi\n', 'tej.json': '{"plugin": "direct"}' });
      assert.equal(ok(await run(['submit', 'h1', '--id', 'cfgplug3', withSpec], env)), 'cfgplug3\n');
    });

    it('refuses a bad config file with exit 78, naming the file and the field path', async () => {
      const env = await withConfig({ hosts: { h1: { queue: '~/q', resources: { cpus: 'four', gpu: 1 } } } });
      const file = join(xdg, 'tej', 'config.json');
      const dir = await makeJob(join(sshHost.jobs, 'cfgbad'), { 'start.sh': 'echo hi\n' });
      for (const args of [['submit', 'h1', '--id', 'cfgbad1', dir], ['status', 'h1', '--id', 'x'], ['setup', 'h1']]) {
        const r = await run(args, env);
        assert.equal(r.code, 78, `${args[0]}: ${r.stderr}`);
        assert.ok(r.stderr.includes(`tej: ${file} is not a valid tej configuration`), r.stderr);
        assert.match(r.stderr, /\/hosts\/h1\/resources\/cpus: must be integer/);
        assert.match(r.stderr, /\/hosts\/h1\/resources: unknown field 'gpu'/);
      }
      assert.equal(await remote('test -e ~/.tej/jobs/cfgbad1 && echo yes || echo no'), 'no\n');
      const notJson = await run(['list', 'h1'], await withConfig('{"hosts": '));
      assert.equal(notJson.code, 78);
      assert.match(notJson.stderr, /config\.json is not valid JSON/);
    });
  });

  describe('shell completion', () => {
    /** Sources `tej completion bash` in bash and runs the completion function on WORDS, as bash would on TAB. */
    async function complete(words: string[]): Promise<string[]> {
      const bin = await sshHost.lab.makeTmpDir('tej-bin-');
      await writeFile(join(bin, 'tej'), `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(TEJ_BIN)} "$@"\n`, { mode: 0o755 });
      const script = ok(await run(['completion', 'bash']));
      await writeFile(join(bin, 'completion.bash'), script);
      const quoted = words.map(shQuote).join(' ');
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn('bash', ['--norc', '-c', `. ${shQuote(join(bin, 'completion.bash'))}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _tej_completions; printf '%s\\n' "\${COMPREPLY[@]}"`], {
          env: { PATH: `${bin}:${process.env.PATH}`, HOME: sshHost.home },
        });
        let o = '';
        child.stdout.on('data', (d) => (o += d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(o) : reject(new Error(`bash exited ${code}`))));
      });
      return out.split('\n').filter(Boolean);
    }

    it('completes commands, their options and argument choices from a sourced bash script', async () => {
      assert.deepEqual(await complete(['tej', 's']), ['setup', 'submit', 'status', 'schema', 'shell', 'show']);
      assert.deepEqual(await complete(['tej', 'submit', '--ex']), ['--exclude']);
      assert.deepEqual(await complete(['tej', 'submit', '--d']), ['--dry-run']);
      assert.deepEqual(await complete(['tej', 'completion', 'z']), ['zsh']);
      const any = await complete(['tej', 'completion', '']);
      assert.ok(any.includes('bash') && any.includes('zsh'), any.join(' '));
      assert.deepEqual(await complete(['tej', 'download', '--i']), ['--id']);
    });

    it('prints a zsh script with `tej completion zsh`, or when $SHELL is zsh', async () => {
      const zsh = ok(await run(['completion', 'zsh']));
      assert.match(zsh, /^#compdef tej\n/);
      assert.match(zsh, /compdef _tej_completions tej/);
      // zsh has no zsh here: check the answer its script asks for (SHELL=zsh: name:description pairs)
      assert.match(zsh, /SHELL=zsh .*tej --get-yargs-completions "\$\{words\[@\]\}"/);
      const answer = ok(await run(['--get-yargs-completions', 'tej', 'submit', '--dry'], { env: { SHELL: 'zsh' } }));
      assert.match(answer, /^--dry-run:List the files that would be sent/m);
      assert.equal(ok(await run(['completion'], { env: { SHELL: '/usr/bin/zsh' } })), zsh);
      assert.match(ok(await run(['completion'], { env: { SHELL: '/bin/bash' } })), /complete -o bashdefault -o default -F _tej_completions tej/);
    });
  });

  describe('progress and colour on a terminal', () => {
    it('draws an upload bar with bytes, rate and ETA on a terminal, then a one-line summary', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'bar'), { 'start.sh': 'echo hi\n' });
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
      const r = await tejOnTty(['submit', 'h1', '--id', 'bar1', dir], { home: sshHost.home });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /\r\x1b\[Kuploading to (alice@)?h1 +\S*[#-]+\S* +\d+% +[\d.]+ \w?i?B\/8\.0 MiB +[\d.]+ \w?i?B\/s/);
      assert.match(r.stdout, /tej: uploaded 2 files, 8\.0 MiB in [\d.]+ s \([\d.]+ \w?i?B\/s\)/);
      assert.match(r.stdout, /^bar1\r?$/m, 'the job id still has a line of its own');
      await waitFor('bar1 to finish', () => run(['status', 'h1', '--id', 'bar1']), (s) => s.code === 0);
      const dl = await tejOnTty(['download', 'h1', '--id', 'bar1', `big.bin:${join(sshHost.jobs, 'big.copy')}`], { home: sshHost.home });
      assert.equal(dl.code, 0, dl.stdout);
      assert.match(dl.stdout, /downloaded big\.bin: 1 file, 8\.0 MiB/);
      assert.deepEqual(await readFile(join(sshHost.jobs, 'big.copy')), Buffer.alloc(8 * 1024 * 1024, 7));
      const toTty = await tejOnTty(['download', 'h1', '--id', 'bar1', 'start.sh:'], { home: sshHost.home });
      assert.match(toTty.stdout, /connecting to h1\r\x1b\[Kecho hi\r\n$/, 'the spinner is gone before the file is printed');
      assert.doesNotMatch(toTty.stdout, /downloading|downloaded/, 'no bar over a file printed on the terminal');
    });

    it('spins while connecting and while setting up a queue on first use, and clears the line after', async () => {
      // (only submit sets a queue up on first use: status and list refuse a queue that is not there)
      const dir = await makeJob(join(sshHost.jobs, 'fresh'), { 'start.sh': 'true\n' });
      const r = await tejOnTty(['submit', 'h1', '--id', 'fresh1', '--queue', '~/fresh-q', dir], { home: sshHost.home, env: { NO_COLOR: '1' } });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /^\r\x1b\[K[|/\\-] connecting to h1/);
      assert.match(r.stdout, /\r\x1b\[K[|/\\-] setting up ~\/fresh-q on \S+ \(first use\)/);
      assert.match(r.stdout, /\r\x1b\[K(.*\r\n)?fresh1\r\n$/);
      assert.equal(await remote('test -x ~/fresh-q/tej-remote && echo yes'), 'yes\n');
    });

    it('draws nothing when stderr is not a terminal, or with --quiet', async () => {
      const dir = await makeJob(join(sshHost.jobs, 'nobar'), { 'start.sh': 'echo hi\n', 'f.bin': 'x'.repeat(100_000) });
      const piped = await run(['submit', 'h1', '--id', 'nobar1', dir]);
      assert.equal(ok(piped), 'nobar1\n');
      assert.equal(piped.stderr, '', 'nothing on a piped stderr');
      const quiet = await tejOnTty(['submit', 'h1', '--id', 'nobar2', '-q', dir], { home: sshHost.home });
      assert.equal(quiet.code, 0, quiet.stdout);
      assert.equal(quiet.stdout.replace(/\r/g, ''), 'nobar2\n', 'only the result with --quiet');
    });

    it('colours errors on a terminal, and not with NO_COLOR or when piped', async () => {
      const coloured = await tejOnTty(['status', 'h1', '--id', 'bad/id'], { home: sshHost.home });
      assert.equal(coloured.code, 65);
      assert.ok(coloured.stdout.includes(`${ESC}31m`), JSON.stringify(coloured.stdout));
      const plain = await tejOnTty(['status', 'h1', '--id', 'bad/id'], { home: sshHost.home, env: { NO_COLOR: '1' } });
      assert.equal(plain.code, 65);
      assert.doesNotMatch(plain.stdout, SGR, 'no colour (the spinner still redraws its line)');
      assert.match(plain.stdout, /(^|\x1b\[K)tej: invalid job id/m);
      const piped = await run(['status', 'h1', '--id', 'bad/id']);
      assert.ok(!piped.stderr.includes('\x1b'));
      const forced = await run(['status', 'h1', '--id', 'bad/id'], { env: { FORCE_COLOR: '1' } });
      assert.ok(forced.stderr.includes(`${ESC}31m`), 'FORCE_COLOR colours a pipe');
    });
  });
});

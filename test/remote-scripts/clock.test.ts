// The helpers' clock (now_into, lib/common.sh): boot time plus uptime read by the shell itself, no
// `date` exec, which a submit and its wrapper asked for three times. It must tell the time as `date`
// does (at most 1 s behind: both parts are whole seconds), and fall back to date without /proc.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { eachShell } from './_shells.js';

const LIBS = new URL('../../remote-scripts/lib/', import.meta.url).pathname;
const fake = mkdtempSync(join(tmpdir(), 'tej-clock-'));
after(() => rmSync(fake, { recursive: true, force: true }));

/** Runs SCRIPT after common.sh under SHELL; its stdout, with `date +%s` before and after it. */
function clock(argv: string[], script: string, env: Record<string, string> = {}): { before: number; out: string; after: number } {
  const [cmd, ...pre] = argv;
  const r = spawnSync(cmd!, [...pre, '-c', `date +%s; . '${LIBS}common.sh'; ${script}; date +%s`], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  return { before: Number(lines[0]), out: lines.slice(1, -1).join('\n'), after: Number(lines.at(-1)) };
}

eachShell((shell) => {
  test('now_into tells the time date tells, at most 1 s behind, with no date exec', () => {
    // a PATH without date: the builtin path is taken, or the script fails
    const r = clock(shell.argv, 'p=$PATH; PATH=/nonexistent; now_into; a=$now_value; now_into; PATH=$p; echo "$a $now_value $(now)"');
    const [a, b, c] = r.out.split(' ').map(Number);
    for (const t of [a!, b!, c!]) {
      assert.ok(t >= r.before - 1 && t <= r.after, `${t} not within [${r.before - 1}, ${r.after}]`);
    }
    assert.ok(b! >= a! && c! >= b!);
  });

  test('without /proc (or a btime it cannot read) now_into asks date', () => {
    const r = clock(shell.argv, 'now_into; echo "$now_value"', { TEJ_PROC: join(fake, 'none') });
    assert.ok(Number(r.out) >= r.before && Number(r.out) <= r.after);
    const odd = join(fake, 'odd');
    mkdirSync(odd, { recursive: true });
    writeFileSync(join(odd, 'stat'), 'cpu 1 2 3\nbtime 12x\n');
    writeFileSync(join(odd, 'uptime'), '5.00 6.00\n');
    const o = clock(shell.argv, 'now_into; echo "$now_value"', { TEJ_PROC: odd });
    assert.ok(Number(o.out) >= o.before && Number(o.out) <= o.after, o.out);
  });

  test('reads the boot time again when the one it holds is over a minute old: a clock set since moves it', () => {
    const moved = join(fake, `moved-${shell.name.replace(/\W/g, '_')}`);
    mkdirSync(moved, { recursive: true });
    const proc = (btime: number, up: string) => {
      writeFileSync(join(moved, 'stat'), `cpu 1 2 3\nbtime ${btime}\nprocesses 9\n`);
      writeFileSync(join(moved, 'uptime'), `${up} 1.00\n`);
    };
    proc(1000, '5.50');
    // within the minute the held boot time serves (the file is not read again); past it, the new one
    const steps = [`printf 'cpu\\nbtime 1500\\n' >'${moved}/stat'`, `printf '60.00 1\\n' >'${moved}/uptime'`, 'now_into; b=$now_value',
      `printf 'cpu\\nbtime 2000\\n' >'${moved}/stat'`, `printf '70.00 1\\n' >'${moved}/uptime'`, 'now_into; c=$now_value'];
    const r = clock(shell.argv, `now_into; a=$now_value; ${steps.join('; ')}; echo "$a $b $c"`, { TEJ_PROC: moved });
    assert.equal(r.out, '1005 1060 2070');
  });

  test('a tej_btime in the environment is not taken for the boot time', () => {
    const r = clock(shell.argv, 'now_into; echo "$now_value"', { tej_btime: '5' });
    assert.ok(Number(r.out) >= r.before - 1 && Number(r.out) <= r.after, r.out);
  });
});

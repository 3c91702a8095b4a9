// The tree kill of a host without /proc (lib/kill.sh over lib/proc.sh's ps table): one ps per round of
// the walk whatever the size of the tree (busybox's ps lists every process of the machine, each time),
// no signal to a pid that names another process by now, zombies dead, and the identities that
// proc_identity has always recorded.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { processAlive, signalIfAlive } from './_processes.js';
import { HelperQueue, waitFor } from './_queue.js';
import { eachShell, NO_PROC, PS_KINDS, SHELLS } from './_shells.js';

const LIBS = '. "$TEJ_ROOT/lib/common.sh" && . "$TEJ_ROOT/lib/proc.sh" && . "$TEJ_ROOT/lib/kill.sh" || exit 70\n';

/** The ps of a kind, behind a shim that writes a line to LOG at each exec; PATH with the shim first. */
function countingPs(q: HelperQueue, bare: boolean, log: string): string {
  const bin = join(q.tmp, 'counting');
  const real = bare ? `'${spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim()}' ps` : "'/usr/bin/ps'";
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'ps'), `#!/bin/sh\necho ps >>'${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
  return `${bin}${delimiter}${q.env.PATH}`;
}

/** Runs SCRIPT (after the libraries) under the shell of q, without /proc and with ps counted. */
function lib(q: HelperQueue, bare: boolean, script: string, args: string[] = []) {
  const log = join(q.tmp, 'ps.log');
  writeFileSync(log, '');
  const [cmd, ...pre] = q.shell.argv;
  const env = { ...q.env, ...NO_PROC, TEJ_ROOT: q.root, LOG: log, PATH: countingPs(q, bare, log) };
  const r = spawnSync(cmd!, [...pre, '-c', LIBS + script, 'sh', ...args], { env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, log: readFileSync(log, 'utf8').split('\n').slice(0, -1) };
}

/** How many ps ran between the marks "mark NAME" the script wrote to LOG, by mark. */
function psPerMark(log: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  let at = '';
  for (const line of log) {
    if (line.startsWith('mark ')) at = line.slice(5);
    else if (at) out[at] = (out[at] ?? 0) + 1;
  }
  return out;
}

/** The pids below ROOT (from this host's /proc), live ones. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      if (f[0] !== 'Z' && f[0] !== 'X') parent.set(Number(name), Number(f[1]));
    } catch {
      // gone
    }
  }
  const below = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) if (below.has(ppid) && !below.has(pid)) below.add(pid), (grew = true);
  }
  below.delete(root);
  return [...below];
}

/** A tree of 21 processes (a shell, 5 subshells, each with a subshell and 2 sleeps), its root our child. */
async function tree(t: TestContext): Promise<number> {
  const script = 'for i in 1 2 3 4 5; do ( ( sleep 2001 & wait ) & sleep 2002 & wait ) & done\nwait\n';
  const root = spawn('sh', ['-c', script], { stdio: 'ignore' });
  const gone = new Promise((r) => root.once('exit', r));
  t.after(async () => {
    for (const pid of [...descendants(root.pid!), root.pid!]) signalIfAlive(pid, 'SIGKILL');
    await gone;
  });
  await waitFor('the tree to grow', () => (descendants(root.pid!).length >= 20 ? true : undefined));
  return root.pid!;
}

/** What tr -c 'A-Za-z0-9._/=-' _ makes of TEXT: the identity's characters (lib/proc.sh, ps_id_into). */
const sanitize = (text: string) => `ps_${text.replace(/[^A-Za-z0-9._/=-]/g, '_')}`;

describe('the tree kill without /proc', { concurrency: SHELLS.length }, () => {
  eachShell({ variants: PS_KINDS }, (shell, ps) => {
    test('runs ps once per round of the walk, whatever the size of the tree', async (t) => {
      const q = new HelperQueue(shell, { bare: ps.bare });
      t.after(() => q.cleanUp());
      const root = await tree(t);
      const members = [root, ...descendants(root)];
      // The shell learns the form of its ps first, once (here from its own identity); then a round is one ps.
      const r = lib(q, ps.bare, `proc_identity $$ >/dev/null || exit 1
echo "mark alive-empty" >>"$LOG"; tree_alive && exit 1
echo "mark freeze" >>"$LOG"; tree_freeze "$1"
printf '%s\\n' "$tree_pids"
echo "mark alive" >>"$LOG"; tree_alive || exit 1
echo "mark kill" >>"$LOG"; tree_kill TERM
echo "mark end" >>"$LOG"`, [String(root)]);
      const found = r.stdout.trim().split(' ').map((w) => Number(w.split(':')[0]));
      assert.deepEqual(found.sort(), members.sort(), 'the tree is the root and every process below it');
      const counts = psPerMark(r.log);
      assert.equal(counts['alive-empty'], undefined, 'an empty tree needs no ps');
      // The freeze: a round before any signal, and one after the STOP that finds nothing new (one more
      // where a child's pid came below its parent's, the pids having wrapped meanwhile).
      assert.ok(counts.freeze === 2 || counts.freeze === 3, `ps runs per tree_freeze of ${members.length} processes: ${counts.freeze}`);
      assert.equal(counts.alive, 1, 'tree_alive: one ps');
      // The tree frozen already: a round before the STOP, one after, one before the CONT.
      assert.equal(counts.kill, 3, 'tree_kill TERM: three ps');
      await waitFor('the tree to end', () => (members.some(processAlive) ? undefined : true));
    });

    test('never signals a pid that names another process by now, and counts a zombie dead', async (t) => {
      const q = new HelperQueue(shell, { bare: ps.bare });
      t.after(() => q.cleanUp());
      const member = spawn('sleep', ['1001'], { stdio: 'ignore' });
      const stranger = spawn('sleep', ['1002'], { stdio: 'ignore' });
      // A zombie: the child of a process that never reaps it (exec'd sleep).
      const parent = spawn('sh', ['-c', 'sleep 0 & exec sleep 1003'], { stdio: 'ignore' });
      t.after(() => [member, stranger, parent].forEach((c) => c.kill('SIGKILL')));
      const zombie = await waitFor('the zombie', () => {
        for (const name of readdirSync('/proc')) {
          try {
            const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
            const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
            if (f[0] === 'Z' && Number(f[1]) === parent.pid) return Number(name);
          } catch {
            // gone
          }
        }
        return undefined;
      });
      await waitFor('the sleeps', () => (processAlive(member.pid!) && processAlive(stranger.pid!) ? true : undefined));
      // The member is recorded with its identity; the stranger with one it does not have (a reused pid).
      const r = lib(q, ps.bare, `proc_identity_into "$1" || exit 1
member=$1:$proc_id
# the zombie, recorded with the identity its line shows (ps_line_id_into)
ps_snapshot || exit 1
z=$(printf '%s\\n' "$ps_table" | grep "^ *$3 ") || exit 1
ps_line_id_into "$z"
tree_pids=" $2:ps_not_its_identity $3:$ps_id "
if tree_alive; then echo alive; else echo dead; fi
tree_pids=" $member $2:ps_not_its_identity $3:$ps_id "
tree_freeze "$3"
printf '%s\\n' "$tree_pids"
tree_kill TERM`, [String(member.pid), String(stranger.pid), String(zombie)]);
      const [alive, pids] = r.stdout.split('\n');
      assert.equal(alive, 'dead', 'neither a reused pid nor a zombie is alive');
      assert.deepEqual(pids!.trim().split(' ').map((w) => Number(w.split(':')[0])), [member.pid], r.stdout);
      await waitFor('the member to end', () => (processAlive(member.pid!) ? undefined : true));
      const state = readFileSync(`/proc/${stranger.pid}/stat`, 'utf8').split(') ')[1]![0];
      assert.equal(state, 'S', 'the stranger runs on, neither stopped nor signalled');
    });

    test('records the identities proc_identity always has, and the ps table gives the same', async (t) => {
      const q = new HelperQueue(shell, { bare: ps.bare });
      t.after(() => q.cleanUp());
      const odd = 'a  b\t*?[x] \\ $HOME "q" é=1';
      const child = spawn('sh', ['-c', 'sleep 1004; : "$0"', odd], { stdio: 'ignore' });
      t.after(() => child.kill('SIGKILL'));
      await waitFor('the process', () => (processAlive(child.pid!) ? true : undefined));
      const r = lib(q, ps.bare, `proc_identity "$1" || exit 1
ps_snapshot || exit 1
l=$(printf '%s\\n' "$ps_table" | grep "^ *$1 ") || exit 1
ps_line_id_into "$l"
printf '%s\\n' "$ps_id"
for s in "$2" 'Sat Dec 5 12:52:00 2026' '' ' x ' "$(printf 'tab\\there')"; do
  ps_id_into "$s"
  printf '%s %s\\n' "$ps_id" "ps_$(printf '%s' "$s" | tr -c 'A-Za-z0-9._/=-' '_')"
done`, [String(child.pid), odd]);
      const [identity, fromTable, ...pairs] = r.stdout.split('\n').slice(0, -1);
      // procps: the start time (lstart's words); busybox: the command line (how it shows a tab or a
      // byte above 127 is its own business)
      if (ps.bare) assert.match(identity!, /^ps_sh_-c_sleep_1004_{6}0__a__b_/);
      else assert.equal(identity, sanitize(spawnSync('ps', ['-o', 'lstart=', '-p', String(child.pid)], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).stdout.trim().split(/\s+/).join(' ')));
      assert.equal(fromTable, identity, 'the table gives the identity proc_identity records');
      for (const pair of pairs) {
        const [mine, tr] = pair.split(' ');
        assert.equal(mine, tr, 'ps_id_into makes what tr made');
      }
    });
  });
});

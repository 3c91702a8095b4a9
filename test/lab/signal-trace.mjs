#!/usr/bin/env node
// Summary: Names who killed a lab host: kernel tracing (tracefs) of every signal sent to a lab host's
//          init (hostinit.sh) or its unshare, with the sender's parents from a fork/exec trace.
// Usage: node test/lab/signal-trace.mjs start | report | stop      (root; mounts tracefs if needed)
//   start   two trace instances: tej-lab-sig (signals to hostinit.sh, unshare and sshd, but SIGCHLD;
//           exits of hostinit.sh and unshare; each with its kernel stack) and tej-lab-proc (every
//           fork and exec on the machine, 64 MB per cpu: about an hour on a busy machine)
//   report  one line per fatal signal to an init or an unshare, and per end of an init: the time,
//           the signal, and its sender with its parents (pid:program <- parent ...), and the kernel
//           path (a kill(2) of a pid or a group, the death of the parent for unshare --kill-child)
//   stop    removes both instances
// A SIGKILL cannot be caught, and from inside a host's PID namespace a sender outside shows as pid 0:
// only the kernel sees who sent it. lab.sh's own kills (host_stop, kill_netns) come from bash children
// of the test process; DIR/../events.log says which (issue 11, item 25).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const T = '/sys/kernel/tracing';
const SIG = `${T}/instances/tej-lab-sig`;
const PROC = `${T}/instances/tej-lab-proc`;
const set = (path, value) => writeFileSync(path, `${value}\n`);

function start() {
  if (!existsSync(`${T}/instances`)) execFileSync('mount', ['-t', 'tracefs', 'nodev', T]);
  for (const d of [SIG, PROC]) if (!existsSync(d)) mkdirSync(d);
  set(`${SIG}/buffer_size_kb`, 8192);
  set(`${SIG}/events/signal/signal_generate/filter`, '(comm == "unshare" || comm == "hostinit.sh" || comm == "sshd") && sig != 17');
  set(`${SIG}/events/sched/sched_process_exit/filter`, 'comm == "unshare" || comm == "hostinit.sh"');
  set(`${SIG}/options/stacktrace`, 1);
  set(`${SIG}/events/signal/signal_generate/enable`, 1);
  set(`${SIG}/events/sched/sched_process_exit/enable`, 1);
  set(`${PROC}/buffer_size_kb`, 65536);
  set(`${PROC}/events/sched/sched_process_fork/enable`, 1);
  set(`${PROC}/events/sched/sched_process_exec/enable`, 1);
  for (const d of [SIG, PROC]) set(`${d}/tracing_on`, 1);
  console.log(`tracing into ${SIG} and ${PROC}`);
}

function stop() {
  for (const d of [SIG, PROC]) if (existsSync(d)) rmdirSync(d);
}

const EVENT = /^\s*.+?-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$/;
const fields = (s) => Object.fromEntries([...s.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));

function report() {
  const boot = Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const wall = (ts) => new Date((boot + ts) * 1000).toISOString().slice(11, 23);
  const forks = new Map(); // pid -> [ts, parent, parent comm][]
  const execs = new Map(); // pid -> [ts, filename][]
  for (const line of readFileSync(`${PROC}/trace`, 'utf8').split('\n')) {
    const m = EVENT.exec(line);
    if (!m) continue;
    const f = fields(m[4]);
    if (m[3] === 'sched_process_fork') forks.set(+f.child_pid, [...(forks.get(+f.child_pid) ?? []), [+m[2], +f.pid, f.comm]]);
    if (m[3] === 'sched_process_exec') execs.set(+f.pid, [...(execs.get(+f.pid) ?? []), [+m[2], f.filename]]);
  }
  const who = (pid, ts) => {
    const out = [];
    for (let depth = 0; pid && depth < 8; depth++) {
      const fk = (forks.get(pid) ?? []).filter(([t]) => t <= ts).at(-1);
      const ex = (execs.get(pid) ?? []).filter(([t]) => t >= (fk?.[0] ?? 0) && t <= ts).at(-1);
      out.push(`${pid}:${ex?.[1] ?? '?'}`);
      if (!fk) break;
      [ts, pid] = fk;
    }
    return out.join(' <- ');
  };
  const lines = readFileSync(`${SIG}/trace`, 'utf8').split('\n');
  const fatal = [];
  lines.forEach((line, i) => {
    const m = EVENT.exec(line);
    if (!m) return;
    const f = fields(m[4]);
    const ts = +m[2];
    if (m[3] === 'signal_generate' && (f.comm === 'hostinit.sh' || f.comm === 'unshare')) {
      const stack = [];
      for (const l of lines.slice(i + 2, i + 40)) {
        if (!l.startsWith(' =>')) break;
        stack.push(l.slice(4));
      }
      const path = stack.filter((s) => /^(__x64_sys|__kill_pgrp|kill_pid|forget_original|zap_pid|exit_notify)/.test(s)).join(' ');
      fatal.push([ts, +f.pid, +f.sig, +m[1]]);
      console.log(`${wall(ts)} SIG${f.sig} to ${f.comm}[${f.pid}] from ${who(+m[1], ts)} (${path})`);
    }
    if (m[3] === 'sched_process_exit' && f.comm === 'hostinit.sh') {
      const fk = (forks.get(+f.pid) ?? []).filter(([t]) => t <= ts).at(-1);
      if (fk && fk[2] !== 'unshare') return; // a subshell of an init, not an init
      const last = fatal.filter(([t, p, s]) => p === +f.pid && s !== 15 && s !== 2 && t >= ts - 5).at(-1);
      console.log(`${wall(ts)} init ${f.pid} ends: ${last ? `SIG${last[2]} from ${who(last[3], last[0])}` : 'no signal seen (it exited)'}`);
    }
  });
}

const cmd = process.argv[2];
if (cmd === 'start') start();
else if (cmd === 'stop') stop();
else if (cmd === 'report') report();
else {
  console.error('usage: node test/lab/signal-trace.mjs start | report | stop');
  process.exit(64);
}

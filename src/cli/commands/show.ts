import type { CommandModule } from 'yargs';
import { expandArrays } from '../../job/array.js';
import { jobOutput } from '../../job/output.js';
import { postPendingWebhooks } from '../../job/notify-post.js';
import type { JobRecord } from '../../job/record.js';
import { describeStatus, statusExit } from '../../job/status.js';
import { describeUsage, NO_USAGE } from '../../job/usage.js';
import { describeLimits } from '../../job/limits.js';
import { describeContainer } from '../../job/container.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printable, printJson } from '../render.js';
import { type SelectArgs, selectIds, selectOptions } from '../select.js';

interface Args extends GlobalArgs, SelectArgs {
  destination?: string[];
  diff: boolean;
}

function iso(d: Date | undefined): string | undefined {
  return d?.toISOString().replace('.000Z', 'Z');
}

/** The human form: one `field: value` line per known field. */
export function describeRecord(r: JobRecord): string {
  const sub = r.submission ?? {};
  const git = sub.git;
  const lines: [string, string | undefined][] = [
    ['id', r.id],
    ['state', describeStatus(r)],
    ['exit code', r.exitCode !== undefined ? String(r.exitCode) : undefined],
    ['host', r.host],
    ['queue', r.queue],
    ['directory', r.workDir],
    ['plugin', r.plugin ? `${r.plugin}${r.nativeId ? ` (native id ${r.nativeId})` : ''}` : undefined],
    ['submitted', iso(r.submitted)],
    ['started', iso(r.start)],
    ['ended', iso(r.end)],
    ['usage', describeUsage(r.usage)],
    ['limits', describeLimits(r.limits)],
    ['image', describeContainer(r.container)],
    ['resubmitted from', r.resubmittedFrom],
    ['labels', r.labels ? Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(', ') : undefined],
    ['command', sub.command !== undefined ? JSON.stringify(sub.command) : undefined],
    ['script', sub.script],
    ['args', sub.args?.length ? sub.args.map((a) => JSON.stringify(a)).join(' ') : undefined],
    ['env', sub.env && Object.keys(sub.env).length ? Object.keys(sub.env).join(', ') : undefined],
    ['time limit', sub.time_limit_s ? `${sub.time_limit_s}s` : undefined],
    ['cpus', sub.cpus ? String(sub.cpus) : undefined],
    ['stdout', r.stdout],
    ['stderr', r.stderr],
    ['submitted from', sub.client_host ? `${sub.client_user ?? '?'}@${sub.client_host}:${sub.dir ?? '?'}` : undefined],
    [
      'git',
      git
        ? `${git.commit ?? '(no commit)'}${git.branch ? ` on ${git.branch}` : ''}${git.dirty ? `, dirty (diff ${Buffer.byteLength(git.diff)} bytes${git.diff_truncated ? ', truncated' : ''})` : ', clean'}${git.path ? `, in ${git.path}/` : ''}`
        : undefined,
    ],
    ['spec', r.spec && Object.keys(r.spec).length ? JSON.stringify(r.spec) : undefined],
  ];
  const known = lines.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(...known.map(([k]) => k.length)) + 1;
  return known.map(([k, v]) => `${`${k}:`.padEnd(width)} ${printable(v!)}`).join('\n') + '\n';
}

export function recordJson(id: string, r: JobRecord | undefined) {
  if (!r) return jobOutput(id, undefined);
  const { git = null, ...submission } = r.submission ?? {};
  return jobOutput(id, r, {
    resubmitted_from: r.resubmittedFrom ?? null,
    host: r.host,
    queue: r.queue,
    work_dir: r.workDir,
    stdout: r.stdout,
    stderr: r.stderr,
    spec: r.spec ?? null,
    submission: r.submission ? submission : null,
    git,
    usage: r.usage ?? NO_USAGE,
    limits: r.limits ?? null,
    container: r.container ?? null,
  });
}

export const showCommand: CommandModule<GlobalArgs, Args> = {
  command: 'show [destination..]',
  describe: "Print a job's full record: state, host, plugin, times, exit code, what it ran, git provenance",
  builder: (y) => selectOptions(y).option('diff', { type: 'boolean', default: false, describe: 'Also print the recorded git diff' }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const { ids, records } = await withQueue(destination, argv, async (q) => {
      const selected = await selectIds(q, argv);
      const records = await q.show(selected);
      // a webhook the host could not post (no curl or wget there) is posted by this client, once
      await postPendingWebhooks(q, records, argv.quiet);
      // an array's id: the host's records are its tasks'
      return { ids: expandArrays(selected, records), records };
    });
    let exit = 0;
    ids.forEach((id, i) => {
      const r = records.get(id);
      if (!r) {
        exit = Math.max(exit, statusExit(undefined));
        if (argv.json) printJson(jobOutput(id, undefined));
        else process.stderr.write(`tej: no such job: ${id}\n`);
        return;
      }
      if (argv.json) return printJson(recordJson(id, r));
      process.stdout.write((i > 0 ? '\n' : '') + describeRecord(r));
      const diff = r.submission?.git?.diff;
      if (argv.diff && diff) process.stdout.write(`\n${diff}${diff.endsWith('\n') ? '' : '\n'}`);
    });
    process.exitCode = exit;
  },
};

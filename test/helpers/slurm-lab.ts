// The fixture of a suite on the lab's Slurm host s1 (slurmctld and slurmd): registers the describe's
// `before` (the lab, a client home, a jobs directory, `tej setup s1 --plugin slurm`) and `after` (the
// lab's stop), and returns the handle `before` fills in, as useSshHost() does for an ssh host.
import { after, before } from 'node:test';
import { ok, tej, type TejRun } from './cli.js';
import { makeClientHome, startLab, type Lab } from './lab.js';

export interface SlurmHost {
  lab: Lab<'s1'>;
  home: string;
  /** A fresh directory for job directories. */
  jobs: string;
  /** The CLI as this home's user, with a long bound. */
  run(args: string[]): Promise<TejRun>;
  /** `tej status s1 --id ID --json`, parsed. */
  statusOf(id: string): Promise<{ state: string; native_id: string | null }>;
}

export function useSlurmHost(jobsPrefix: string): SlurmHost {
  const host = {
    run: (args: string[]) => tej(args, { home: host.home, timeoutMs: 120_000 }),
    statusOf: async (id: string) => JSON.parse((await host.run(['status', 's1', '--id', id, '--json'])).stdout) as { state: string; native_id: string | null },
  } as SlurmHost; // the rest is filled in before(); a test never runs without it
  before(async () => {
    host.lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    host.home = await makeClientHome(host.lab);
    host.jobs = await host.lab.makeTmpDir(jobsPrefix);
    ok(await host.run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await host.lab?.stop();
  });
  return host;
}

import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, destinationConfig, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';

/** What setup's hint says the host has, per suggested plugin. */
const SCHEDULER_NAMES: Record<string, string> = { slurm: 'sbatch', sge: 'Grid Engine', pbs: 'PBS or Torque (qsub)' };

interface Args extends GlobalArgs {
  destination?: string[];
  plugin?: string;
  'plugin-file'?: string;
  'make-link'?: string;
  force: boolean;
}

export const setupCommand: CommandModule<GlobalArgs, Args> = {
  command: 'setup [destination..]',
  describe: 'Create the queue on a host and install the tej helpers',
  builder: (y) =>
    y
      .option('plugin', { type: 'string', describe: 'Default queue plugin for jobs (direct, slurm, pbs, or your own); with --plugin-file, the name to install it as' })
      .option('plugin-file', { type: 'string', describe: 'Install this file as a queue plugin of your own (named after the file without .sh, or --plugin)' })
      .option('make-link', { type: 'string', describe: 'Make this path a symlink to the queue, so later commands find it' })
      .option('force', { type: 'boolean', default: false, describe: 'Install into a non-empty directory that is not a tej queue' }),
  handler: async (argv) => {
    if (argv['plugin-file'] === '') throw new UsageError('--plugin-file needs a file', { hint: 'tej setup HOST --plugin-file ./mine.sh [--plugin mine]' });
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const config = await destinationConfig(destination);
    const r = await withQueue(destination, argv, (q) =>
      q.setup({
        // A plugin file is named by --plugin only: the configured default plugin is not its name.
        plugin: argv.plugin ?? (argv['plugin-file'] === undefined ? config.plugin : undefined),
        pluginFile: argv['plugin-file'],
        link: argv['make-link'],
        force: argv.force,
      }),
    );
    // snake_case, as every --json key; the library's type keeps camelCase, as all its types
    if (argv.json) printJson({ queue: r.queue, plugin: r.plugin, version: r.version, suggested_plugin: r.suggestedPlugin ?? null });
    else process.stdout.write(`${r.queue} (plugin ${r.plugin}, tej ${r.version})\n`);
    if (r.suggestedPlugin && !argv.quiet) {
      const dest = destination ? `${destination} ` : '';
      process.stderr.write(`tej: this host has ${SCHEDULER_NAMES[r.suggestedPlugin] ?? r.suggestedPlugin}: 'tej setup ${dest}--plugin ${r.suggestedPlugin}' hands jobs to it\n`);
    }
  },
};

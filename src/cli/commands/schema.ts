import type { CommandModule } from 'yargs';
import { CONFIG_SCHEMA } from '../../config.js';
import { JOB_SPEC_SCHEMA } from '../../job/spec.js';
import type { GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  which: 'tej.json' | 'config';
}

export const schemaCommand: CommandModule<GlobalArgs, Args> = {
  command: 'schema [which]',
  describe: 'Print the JSON Schema of tej.json (or of the config file: tej schema config)',
  builder: (y) => y.positional('which', { choices: ['tej.json', 'config'] as const, default: 'tej.json' as const }),
  handler: (argv) => {
    process.stdout.write(JSON.stringify(argv.which === 'config' ? CONFIG_SCHEMA : JOB_SPEC_SCHEMA, null, 2) + '\n');
  },
};

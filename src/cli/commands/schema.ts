import type { CommandModule } from 'yargs';
import { JOB_SPEC_SCHEMA } from '../../job/spec.js';
import type { GlobalArgs } from '../context.js';

export const schemaCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'schema',
  describe: 'Print the JSON Schema of tej.json',
  handler: () => {
    process.stdout.write(JSON.stringify(JOB_SPEC_SCHEMA, null, 2) + '\n');
  },
};

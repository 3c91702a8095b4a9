// `tej disconnect DEST`: ends the destination's persistent-connection master (like `ssh -O exit`).
import type { CommandModule } from 'yargs';
import { isLocal } from '../../connect.js';
import { UsageError } from '../../errors.js';
import type { GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  destination: string;
}

export const disconnectCommand: CommandModule<GlobalArgs, Args> = {
  command: 'disconnect <destination>',
  describe: 'Close the persistent connection (--persist) to a host, if one is open',
  builder: (y) => y.positional('destination', { type: 'string', demandOption: true }),
  handler: async (argv) => {
    if (isLocal(argv.destination)) throw new UsageError('the local queue has no connection to close', { hint: 'name a host: tej disconnect alice@hpc' });
    const { masterSocket } = await import('../../persist/start.js');
    const { stopMaster } = await import('../../persist/client.js');
    const { socket } = await masterSocket(argv.destination);
    const stopped = await stopMaster(socket);
    if (!argv.quiet) {
      process.stderr.write(stopped ? `tej: closed the persistent connection to ${argv.destination}\n` : `tej: no persistent connection to ${argv.destination} was open\n`);
    }
  },
};

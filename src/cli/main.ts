// Entry of the tej CLI bundle (bin/tej.js): the command line of this process, run by runCli.
import { hideBin } from 'yargs/helpers';
import { runCli } from './run.js';

await runCli(hideBin(process.argv));

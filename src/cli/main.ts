// Entry of the tej CLI bundle (bin/tej.js): the command line of this process, run by runCli. The bundle
// is CommonJS (scripts/bundle.mjs): no top-level await; runCli reports its own errors.
import { hideBin } from 'yargs/helpers';
import { runCli } from './run.js';

void runCli(hideBin(process.argv));

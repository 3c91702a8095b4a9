// Entry of the persistent-connection master process (bin/tej.js __persist-master '<json>'): a bundle
// entry of its own, so that a master loads neither yargs nor the commands.
import { EXIT } from '../errors.js';
import { runMaster, type MasterArgs } from './master.js';
import { toWire } from './wire-error.js';

try {
  await runMaster(JSON.parse(process.argv[3] ?? '') as MasterArgs);
} catch (e) {
  if (process.connected) process.send?.({ type: 'error', error: toWire(e) });
  process.exitCode = EXIT.SOFTWARE;
  if (process.connected) process.disconnect();
}

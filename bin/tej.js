#!/usr/bin/env node
// CommonJS (bin/package.json): Node runs a CommonJS entry without starting its ESM loader, so that
// `tej --version` answers before anything else is loaded, as fast as `node -e 0` (an ES module entry
// cost ~15% more: bench, "CLI start-up"). A command runs in the CLI's bundle, one CommonJS file run with
// a V8 code cache (src/code-cache.ts); a --persist master and its workers are ES modules.
'use strict';
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${require('../package.json').version}\n`);
} else if (args[0] === '__persist-master') {
  import('../dist/bundle/persist-master.js'); // started by tej itself: src/persist/start.ts
} else if (args[0] === '__persist-worker') {
  import('../dist/bundle/persist-worker.js'); // started by a master: src/persist/workers.ts
} else {
  // Through a running --persist master, the command runs in its worker: this process only relays.
  const persist = args.some((a) => a === '--persist' || a.startsWith('--persist=')) || !!process.env.TEJ_PERSIST;
  (async () => {
    // persist-lean is CommonJS: required, it does not start the ESM loader (scripts/bundle.mjs)
    if (!(persist && (await require('../dist/bundle/persist-lean.cjs').runThroughMaster(args)))) runCli();
  })();
}

function runCli() {
  const file = require.resolve('../dist/bundle/tej.cjs');
  require('../dist/bundle/code-cache.cjs').runWithCodeCache(file, require('node:fs').readFileSync(file), 'cli');
}

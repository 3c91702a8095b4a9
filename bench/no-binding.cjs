// `node --require bench/no-binding.cjs`: ssh2 as an install without its native parts runs it (npm ci
// --ignore-scripts, or node-gyp failing silently). ssh2 loads its crypto binding (sshcrypto.node) and
// cpu-features (its cipher order) in a try, falling back to its JavaScript classes when the require
// throws; here every native addon of those two packages throws, so one checkout measures both cases.
// `npm run bench -- --no-binding` sets it through NODE_OPTIONS for every node the bench starts.
'use strict';
const Module = require('node:module');
const { sep } = require('node:path');

const load = Module._extensions['.node'];
Module._extensions['.node'] = function (module, filename) {
  if (filename.includes(`${sep}ssh2${sep}`) || filename.includes(`${sep}cpu-features${sep}`)) {
    throw new Error(`bench --no-binding: ${filename} is not loaded`);
  }
  return load.call(this, module, filename);
};

// What tej uses of ssh2, bundled into dist/bundle/ssh2.cjs by scripts/bundle.mjs: the Client and the key
// parser, without ssh2's index, which loads its server, its HTTP(S) agents (http, https, tls) and keygen.
'use strict';
module.exports = {
  Client: require('ssh2/lib/client.js'),
  utils: { parseKey: require('ssh2/lib/protocol/keyParser.js').parseKey },
};

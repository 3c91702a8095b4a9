// A key pair for the in-process ssh2 servers of the unit tests. ssh2's generateKeyPairSync('ed25519')
// strips leading zero bytes of the public key, so about one pair in 256 is one its own parseKey (and
// so ssh2.Server) rejects: "Malformed OpenSSH private key" (mscdex/ssh2 issues #1390, #1513). A CI run
// failed on it; a pair is drawn again until ssh2 reads both halves.
import ssh2 from 'ssh2';

export function ed25519KeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

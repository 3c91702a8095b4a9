// Where a big download's client CPU goes, without sshd (issue 13): prints one JSON line per measurement,
// the CPU (user + system, ms) it took.
//   node bench/recv-cost.mjs [MB]
// - socket: reading MB MiB from a local TCP server as Node's streams do ('data', a fresh buffer per
//   read), in one buffer reused for every read (net's `onread`), and with a minor GC every 4 MiB;
// - decipher / cipher: ssh2's receive and send of MB MiB in 32 KiB SSH packets (what sshd sends and tej
//   sends), for each cipher ssh2 offers, through the native binding when this install has it and through
//   ssh2's JavaScript fallback (the same classes a no-binding install uses).
// `node -e 0`'s CPU is printed too: subtract it.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import net from 'node:net';

const MB = Number(process.argv[2] ?? 200);
const [mode, arg] = process.argv.slice(3);

/** The CPU this process has used, in ms. */
const cpu = () => {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
};

async function socketCase(kind) {
  const chunk = Buffer.alloc(1 << 20, 1);
  const server = net.createServer((s) => {
    let n = 0;
    const go = () => {
      while (n < MB) {
        n++;
        if (!s.write(chunk)) return void s.once('drain', go);
      }
      s.end();
    };
    go();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  // The server runs in this process too: measure the reader in a child (without blocking the server).
  const { stdout: out } = await promisify(execFile)(process.execPath, [new URL(import.meta.url).pathname, String(MB), 'read', `${kind}:${port}`], { encoding: 'utf8' });
  server.close();
  return JSON.parse(out);
}

async function read(spec) {
  const [kind, port] = spec.split(':');
  let gc;
  if (kind === 'gc') {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  }
  const before = cpu();
  let n = 0;
  let last = 0;
  await new Promise((resolve) => {
    const s =
      kind === 'onread'
        ? net.connect({ port: Number(port), host: '127.0.0.1', onread: { buffer: Buffer.allocUnsafe(1 << 16), callback: (k) => void (n += k) } })
        : net.connect(Number(port), '127.0.0.1');
    s.on('data', (d) => {
      n += d.length;
      if (gc && n - last >= 4 << 20) {
        last = n;
        gc({ type: 'minor' });
      }
    });
    s.on('end', resolve);
  });
  process.stdout.write(JSON.stringify({ case: `socket read, ${kind}`, mb: n / 1048576, cpu_ms: cpu() - before, total_cpu_ms: cpu() }));
}

async function ciphers() {
  const require = createRequire(import.meta.url);
  const C = require('ssh2/lib/protocol/crypto.js');
  await C.init;
  const { randomBytes } = await import('node:crypto');
  const packets = Math.round((MB * 1048576) / 32768);
  const payload = 32768 + 9; // CHANNEL_DATA: type, channel, length, then the data
  const suites = [['aes128-gcm@openssh.com'], ['chacha20-poly1305@openssh.com'], ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'], ['aes128-ctr', 'hmac-sha2-256']];
  // The first round warms up (the JIT, the heap's growth): the second is printed.
  for (const round of [0, 1])
  for (const forceNative of C.bindingAvailable ? [false, true] : [true]) {
    for (const [cipher, mac] of suites) {
      const ci = C.CIPHER_INFO[cipher];
      const mi = mac ? C.MAC_INFO[mac] : undefined;
      const key = randomBytes(ci.keyLen);
      const iv = ci.ivLen ? randomBytes(ci.ivLen) : undefined;
      const macKey = mi ? randomBytes(mi.len) : undefined;
      const sent = [];
      // (the cipher counts its IV up in place: the decipher gets a copy of the first)
      const enc = C.createCipher({ outbound: { onWrite: (d) => sent.push(Buffer.from(d)), cipherInfo: ci, cipherKey: key, cipherIV: iv && Buffer.from(iv), seqno: 0, macInfo: mi, macKey, forceNative } });
      let t = cpu();
      for (let i = 0; i < packets; i++) enc.encrypt(enc.allocPacket(payload));
      const encryptMs = cpu() - t;
      const wire = Buffer.concat(sent);
      sent.length = 0;
      let got = 0;
      const dec = C.createDecipher({ inbound: { onPayload: (p) => void (got += p.length), decipherInfo: ci, decipherKey: key, decipherIV: iv && Buffer.from(iv), seqno: 0, macInfo: mi, macKey, forceNative } });
      // in the 64 KiB pieces a Node socket reads, each a buffer of its own as there
      const reads = [];
      for (let p = 0; p < wire.length; p += 65536) reads.push(Buffer.from(wire.subarray(p, p + 65536)));
      t = cpu();
      for (const r of reads) dec.decrypt(r, 0, r.length);
      const decryptMs = cpu() - t;
      if (got !== packets * payload) throw new Error(`${cipher}: deciphered ${got} bytes`);
      if (round === 1) console.log(JSON.stringify({ case: `${cipher}${mac ? ` + ${mac}` : ''}`, path: forceNative ? 'javascript' : 'binding', mb: MB, encrypt_cpu_ms: encryptMs, decrypt_cpu_ms: decryptMs }));
    }
  }
}

if (mode === 'read') await read(arg);
else {
  const base = execFileSync(process.execPath, ['-e', 'const u = process.cpuUsage(); process.stdout.write(String(Math.round((u.user + u.system) / 1000)))'], { encoding: 'utf8' });
  console.log(JSON.stringify({ case: 'node -e 0', total_cpu_ms: Number(base) }));
  for (const kind of ['data', 'onread', 'gc']) console.log(JSON.stringify(await socketCase(kind)));
  await ciphers();
}

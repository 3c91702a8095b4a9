// Preloaded (node --import) into a tej process by test/integration/nodelay.test.ts: records every TCP
// connection the process makes and whether TCP_NODELAY was asked for on it, and appends one JSON line
// per process to $TEJ_NODELAY_LOG when it exits. Unix sockets (a --persist master's) are not TCP: left out.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const sockets = [];
const noDelay = new WeakMap();
const { connect, setNoDelay } = net.Socket.prototype;
net.Socket.prototype.setNoDelay = function (enable) {
  noDelay.set(this, enable === undefined ? true : Boolean(enable));
  return setNoDelay.apply(this, arguments);
};
net.Socket.prototype.connect = function (...args) {
  const o = args[0];
  const tcp = Array.isArray(o) ? false : typeof o === 'object' && o !== null ? o.path === undefined && o.port !== undefined : typeof o === 'number' || (typeof o === 'string' && /^\d+$/.test(o));
  if (tcp) sockets.push({ socket: this, to: typeof o === 'object' ? `${o.host}:${o.port}` : String(o) });
  return connect.apply(this, args);
};
process.on('exit', () => {
  const line = { pid: process.pid, argv: process.argv.slice(2, 3), tcp: sockets.map((s) => ({ to: s.to, noDelay: noDelay.get(s.socket) === true })) };
  appendFileSync(process.env.TEJ_NODELAY_LOG, `${JSON.stringify(line)}\n`);
});

// Destinations: `[user@]host`, `ssh://[user@]host[:port]`, or a Host alias from ~/.ssh/config.
import { InvalidInputError } from './errors.js';

export interface Destination {
  user?: string;
  host: string;
  port?: number;
}

// A host is a DNS name, an IPv4 address or a bracketed IPv6 address; nothing a shell or ssh would
// read as an option.
const HOST = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function parseDestination(text: string): Destination {
  const bad = (why: string) =>
    new InvalidInputError(`bad destination '${text}': ${why}`, {
      hint: 'write [user@]host, ssh://[user@]host[:port], or a Host alias from ~/.ssh/config',
    });
  let rest = text;
  let port: number | undefined;
  if (rest.startsWith('ssh://')) {
    rest = rest.slice('ssh://'.length).replace(/\/$/, '');
    const m = /^(.*?)(?::(\d+))?$/.exec(rest);
    if (m?.[2] !== undefined && !rest.endsWith(']')) {
      port = Number(m[2]);
      if (!(port > 0 && port < 65536)) throw bad(`port ${m[2]} is out of range`);
      rest = m[1]!;
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw bad('only ssh:// URLs are supported');
  }
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) throw bad(`user name '${user}' has characters tej does not accept`);
  }
  if (!HOST.test(rest)) throw bad(rest === '' ? 'no host name' : `host name '${rest}' has characters tej does not accept`);
  const host = rest.startsWith('[') ? rest.slice(1, -1) : rest;
  return { user, host, port };
}

/** Does this argument look like a destination rather than a path? Used where the host is optional. */
export function looksLikeDestination(text: string, configHosts: ReadonlySet<string>): boolean {
  return text.startsWith('ssh://') || (text.includes('@') && !text.includes('/')) || configHosts.has(text) || text === 'local';
}

export function formatDestination(d: Destination): string {
  return `${d.user ? `${d.user}@` : ''}${d.host}${d.port && d.port !== 22 ? `:${d.port}` : ''}`;
}

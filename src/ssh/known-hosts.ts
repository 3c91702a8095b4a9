// known_hosts verification with OpenSSH's rules: host patterns with wildcards and negation, [host]:port
// for non-default ports, hashed entries (|1|salt|hmac-sha1), @revoked keys. @cert-authority lines are not
// supported and are ignored (the host then needs a plain entry).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyError } from '../errors.js';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  hosts: string;
  keyType: string;
  keyBase64: string;
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'known'; entry: KnownHostEntry }
  | { kind: 'unknown' }
  | { kind: 'changed'; entries: KnownHostEntry[] }
  | { kind: 'revoked'; entry: KnownHostEntry };

/** The name OpenSSH looks up: `host`, or `[host]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) return;
    entries.push({ marker, hosts, keyType, keyBase64, file, line: i + 1 });
  });
  return entries;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** Does an entry's host field name this host? Negated patterns veto a match, as in OpenSSH. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globToRegExp(pattern.slice(1)).test(name)) return false;
    } else if (globToRegExp(pattern).test(name)) {
      matched = true;
    }
  }
  return matched;
}

export function verifyHostKey(entries: KnownHostEntry[], name: string, keyType: string, keyBase64: string): HostKeyVerdict {
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && hostFieldMatches(e.hosts, name));
  const revoked = entries.find((e) => e.marker === '@revoked' && e.keyBase64 === keyBase64);
  if (revoked) return { kind: 'revoked', entry: revoked };
  const exact = forHost.find((e) => !e.marker && e.keyBase64 === keyBase64);
  if (exact) return { kind: 'known', entry: exact };
  // OpenSSH calls a key "changed" when the host is known with a key of the same type.
  const sameType = forHost.filter((e) => !e.marker && e.keyType === keyType);
  if (sameType.length > 0) return { kind: 'changed', entries: sameType };
  return { kind: 'unknown' };
}

/**
 * Why tej refuses a host key: `name` is the known_hosts name, `alias` the name the user gave. An unknown
 * key is refused unless the caller accepts new keys (it never gets here then).
 */
export function hostKeyError(verdict: Exclude<HostKeyVerdict, { kind: 'known' }>, name: string, alias: string, keyType: string, fp: string): HostKeyError {
  if (verdict.kind === 'unknown') {
    return new HostKeyError(`host key of ${name} is unknown (${keyType} ${fp}); refusing to connect`, {
      hint: `check the fingerprint with the host's owner, then run 'ssh ${alias}' once to record it, or pass --accept-new-host-key`,
    });
  }
  if (verdict.kind === 'changed') {
    const where = verdict.entries.map((e) => `${e.file}:${e.line}`).join(', ');
    return new HostKeyError(`HOST KEY OF ${name} HAS CHANGED (now ${keyType} ${fp}); refusing to connect: this may be an attack`, {
      hint: `if the host was reinstalled, remove the old key (${where}) with: ssh-keygen -R '${name}'`,
    });
  }
  return new HostKeyError(`host key of ${name} (${fp}) is marked @revoked in ${verdict.entry.file}; refusing to connect`);
}

/** Key types recorded for a host, so that the client asks the server for a key it can check. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  return [...new Set(entries.filter((e) => !e.marker && hostFieldMatches(e.hosts, name)).map((e) => e.keyType))];
}

export async function loadKnownHosts(files: string[]): Promise<KnownHostEntry[]> {
  const all: KnownHostEntry[] = [];
  for (const file of files) {
    try {
      all.push(...parseKnownHosts(await readFile(file, 'utf8'), file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return all;
}

/** SHA256 fingerprint as OpenSSH prints it. */
export function fingerprint(keyBase64: string): string {
  return 'SHA256:' + createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '');
}

/** Appends a hashed entry, like OpenSSH with HashKnownHosts yes. */
export async function addKnownHost(file: string, name: string, keyType: string, keyBase64: string): Promise<void> {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `|1|${salt.toString('base64')}|${hash} ${keyType} ${keyBase64}\n`, { mode: 0o600 });
}

/** The key type at the start of an SSH public key blob (RFC 4253 string). */
export function keyTypeOfBlob(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('ascii');
}

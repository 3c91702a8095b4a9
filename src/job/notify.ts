// The webhook `tej wait` POSTs to must be one this client submitted: a job runs as the queue's user and
// can rewrite its own record on the host (meta/spec.json). The submit stores a MAC of the URL beside it
// (meta/notify-mac), made with a key only this client has ($XDG_CONFIG_HOME/tej/notify.key); wait posts
// only to a URL whose MAC checks out.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { configPath } from '../config.js';

export function notifyKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(configPath(env)), 'notify.key');
}

/** The client's key; with `create`, made (0600, exclusively) when there is none. */
export async function notifyKey(create: boolean, path = notifyKeyPath()): Promise<Buffer | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(text)) return Buffer.from(text, 'hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!create) return undefined;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another tej made it meanwhile
  }
  return notifyKey(false, path);
}

export function notifyMac(key: Buffer, webhook: string): string {
  return createHmac('sha256', key).update(`tej-notify-v1\0${webhook}`).digest('hex');
}

/** Whether MAC is this client's for WEBHOOK. */
export function checkNotifyMac(key: Buffer | undefined, webhook: string, mac: string | undefined): boolean {
  if (!key || !mac || !/^[0-9a-f]{64}$/.test(mac)) return false;
  return timingSafeEqual(Buffer.from(notifyMac(key, webhook), 'hex'), Buffer.from(mac, 'hex'));
}

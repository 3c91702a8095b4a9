// Setup over SFTP when several clients set up one new queue at once (clients submitting at once to a
// host not set up yet): their requests interleave, and a directory one of them makes between another's
// lstat and mkdir must not fail the other (it failed with "SFTP: Failure", exit 77, in CI). The SFTP
// server here is a file tree in memory that answers each request in turn, so two installs started
// together interleave request by request, as the worst timing over a network would have them.
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { installOverSftp } from '../../src/remote/install-sftp.js';
import type { Sftp } from '../../src/transport/sftp.js';

interface Node {
  dir: boolean;
  uid: number;
  mode: number;
  data?: Uint8Array;
}

/** The part of an SFTP server's behaviour the installer uses: mkdir fails on an existing entry, rename replaces. */
class MemorySftp {
  readonly tree = new Map<string, Node>([['/', { dir: true, uid: 1000, mode: 0o755 }], ['/home', { dir: true, uid: 0, mode: 0o755 }], ['/home/alice', { dir: true, uid: 1000, mode: 0o700 }]]);
  /** Paths whose mkdir fails even though nothing is there (a host that refuses it). */
  readonly refuse = new Set<string>();

  private async turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private stats(n: Node | undefined) {
    return n && { uid: n.uid, mode: n.mode, isDirectory: () => n.dir };
  }

  async realpath(path: string) {
    await this.turn();
    return path === '.' ? '/home/alice' : posix.normalize(path);
  }
  async lstat(path: string) {
    await this.turn();
    return this.stats(this.tree.get(path));
  }
  stat(path: string) {
    return this.lstat(path);
  }
  async mkdir(path: string, mode: number) {
    await this.turn();
    if (this.tree.has(path) || this.refuse.has(path) || !this.tree.get(posix.dirname(path))?.dir) throw new Error('Failure');
    this.tree.set(path, { dir: true, uid: 1000, mode });
  }
  async readdir(path: string) {
    await this.turn();
    return [...this.tree.keys()].filter((p) => posix.dirname(p) === path && p !== path).map((p) => ({ filename: posix.basename(p) }));
  }
  async chmod(path: string, mode: number) {
    await this.turn();
    this.tree.get(path)!.mode = mode;
  }
  async writeNew(path: string, data: Uint8Array, mode: number) {
    await this.turn();
    if (this.tree.has(path) || !this.tree.get(posix.dirname(path))?.dir) throw new Error('Failure');
    this.tree.set(path, { dir: false, uid: 1000, mode, data });
  }
  async rename(from: string, to: string) {
    await this.turn();
    const n = this.tree.get(from);
    if (!n || this.tree.get(to)?.dir) throw new Error('Failure');
    this.tree.delete(from);
    this.tree.set(to, n);
  }
  async unlink(path: string) {
    await this.turn();
    if (!this.tree.delete(path)) throw new Error('No such file');
  }
  async rmdir(path: string) {
    await this.turn();
    if ((await this.readdir(path)).length) throw new Error('Failure');
    this.tree.delete(path);
  }
}

describe('setup over SFTP', () => {
  it('two setups of one new queue at once both succeed, and leave a whole install with no temp directory', async () => {
    const sftp = new MemorySftp();
    await Promise.all([1, 2].map(() => installOverSftp(sftp as unknown as Sftp, '~/.tej', 'h1', false)));
    const queue = [...sftp.tree.keys()].filter((p) => p.startsWith('/home/alice/.tej/'));
    assert.ok(queue.includes('/home/alice/.tej/VERSION'), 'VERSION is in place');
    assert.ok(queue.includes('/home/alice/.tej/tej-remote'), 'the dispatcher is in place');
    assert.ok(queue.some((p) => p.startsWith('/home/alice/.tej/lib/')), 'the libraries are in place');
    assert.deepEqual(queue.filter((p) => p.includes('.install.')), [], 'no temp directory is left');
  });

  it('a directory of the queue that cannot be made fails the setup, naming it', async () => {
    const sftp = new MemorySftp();
    sftp.refuse.add('/home/alice/.tej/lib');
    await assert.rejects(installOverSftp(sftp as unknown as Sftp, '~/.tej', 'h1', false), /cannot create \/home\/alice\/\.tej\/lib: Failure/);
  });
});

// A library session's submits side by side (docs/protocol.md, "Library sessions"): each runs from memory
// in one of the session's loaded shells, the connection's own shell and up to EXTRA_SHELLS more, each on
// a channel of its own (Transport.extraSession), loaded and probed like the first. A shell runs one
// request at a time, and a submit is mostly the host's work (tar, mkdir, mv, starting the wrapper):
// shells side by side keep the host's cores busy, where one shell left them idle between requests.
//
// A submit waits for an idle shell of the pool; more shells are opened only while submits wait, and
// closed again once the pool has been idle for IDLE_CLOSE_MS, which gives their channels back to
// uploads and downloads.
import type { ShellSession } from '../transport/shell-session.js';
import type { RunResult, Transport } from '../transport/transport.js';

/** At most this many shells besides the connection's own: each takes one of its data channels. */
export const EXTRA_SHELLS = 2;
/** Extra shells idle this long are closed. */
const IDLE_CLOSE_MS = 2000;

interface Member {
  session: ShellSession;
  /** The queue's physical path, as this shell's probe found it. */
  root: string;
  busy: boolean;
  extra: boolean;
}

export class ShellPool {
  private readonly members: Member[] = [];
  private readonly waiting: { resolve: (m: Member) => void; reject: (e: Error) => void }[] = [];
  /** Set when a request failed (its shell ended: the connection broke): every submit fails with it. */
  private broken?: Error;
  private opening = 0;
  /** Set when an extra shell could not be had (no channel, or its load or probe failed): no more tries. */
  private noMore = false;
  private idleTimer?: NodeJS.Timeout;

  /**
   * @param transport  opens the extra shells
   * @param primary    the connection's own shell, loaded and probed, with the root its probe found
   * @param prepare    loads the helpers into a new shell and probes the queue: the root, or undefined
   *                   when that shell cannot run the calls from memory
   */
  constructor(
    private readonly transport: Transport,
    primary: { session: ShellSession; root: string },
    private readonly prepare: (session: ShellSession) => Promise<string | undefined>,
  ) {
    this.members.push({ ...primary, busy: false, extra: false });
  }

  /**
   * Runs `script(root)` on an idle shell of the pool, in order of arrival; `onWritten` as for
   * ShellSession.run. A request that fails (its shell ended: the connection broke) fails the pool: the
   * submits waiting fail with it, and the caller retries them over a new connection.
   */
  async run(script: (root: string) => string, onWritten?: () => void): Promise<RunResult> {
    const member = await this.acquire();
    let result: RunResult;
    try {
      result = await member.session.run(script(member.root), onWritten);
    } catch (e) {
      this.fail(e as Error);
      throw e;
    }
    this.release(member);
    return result;
  }

  /** Closes the extra shells; the pool is not used afterwards. */
  close(): void {
    clearTimeout(this.idleTimer);
    this.noMore = true;
    for (const m of this.members.filter((x) => x.extra)) this.drop(m);
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const w of this.waiting.splice(0)) w.reject(this.broken);
    this.close();
  }

  private acquire(): Promise<Member> {
    if (this.broken) return Promise.reject(this.broken);
    clearTimeout(this.idleTimer);
    const idle = this.members.find((m) => !m.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    const got = new Promise<Member>((resolve, reject) => this.waiting.push({ resolve, reject }));
    // One more shell for those waiting, while the pool may grow (one at a time: a load costs the host too).
    if (this.opening === 0 && !this.noMore && this.members.length < 1 + EXTRA_SHELLS) void this.grow();
    return got;
  }

  private release(member: Member): void {
    const next = this.waiting.shift();
    if (next) return next.resolve(member); // stays busy, for the next submit
    member.busy = false;
    if (this.members.every((m) => !m.busy) && this.members.some((m) => m.extra)) {
      this.idleTimer = setTimeout(() => {
        for (const m of this.members.filter((x) => x.extra && !x.busy)) this.drop(m);
      }, IDLE_CLOSE_MS);
      this.idleTimer.unref();
    }
  }

  private drop(member: Member): void {
    const at = this.members.indexOf(member);
    if (at >= 0) this.members.splice(at, 1);
    if (member.extra) member.session.close();
  }

  private async grow(): Promise<void> {
    const opened = this.transport.extraSession?.();
    if (!opened) {
      this.noMore = true;
      return;
    }
    this.opening++;
    let member: Member | undefined;
    try {
      const session = await opened;
      const root = await this.prepare(session).catch(() => undefined);
      if (root === undefined || this.noMore) session.close();
      else member = { session, root, busy: true, extra: true };
    } catch {
      // no shell: the ones there are serve
    } finally {
      this.opening--;
    }
    if (!member) {
      this.noMore = true;
      return;
    }
    this.members.push(member);
    const next = this.waiting.shift();
    if (next) {
      next.resolve(member);
      // still more waiting: one more shell
      if (this.waiting.length > 0 && this.members.length < 1 + EXTRA_SHELLS) void this.grow();
    } else {
      this.release(member);
    }
  }
}

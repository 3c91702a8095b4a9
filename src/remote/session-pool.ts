// A library session's submits side by side (docs/protocol.md, "Library sessions"): each runs from memory
// in one of the session's loaded shells, the connection's own shell and up to EXTRA_SHELLS more, each on
// a channel of its own (Transport.extraSession), loaded and probed like the first. A shell runs one
// request at a time, and a submit is mostly the host's work (tar, mkdir, mv, starting the wrapper):
// shells side by side keep the host's cores busy, where one shell left them idle between requests.
//
// A submit takes an idle shell of the pool, else goes pipelined behind the submit a shell runs (at most
// PIPELINE_DEPTH on one: the shell finds the next request there as it ends one, where it waited a
// round trip, and on a loaded client the client's turn, for it). More shells are opened only while
// every shell is busy, and closed again once the pool has been idle for IDLE_CLOSE_MS, which gives their
// channels back to uploads and downloads.
import { PIPELINE_DEPTH, type ShellSession } from '../transport/shell-session.js';
import type { RunResult, Transport } from '../transport/transport.js';

/** At most this many shells besides the connection's own: each takes one of its data channels (4 of 9, while a burst of submits lasts). */
export const EXTRA_SHELLS = 4;
/** Extra shells idle this long are closed. */
const IDLE_CLOSE_MS = 2000;

interface Member {
  session: ShellSession;
  /** The queue's physical path, as this shell's probe found it. */
  root: string;
  /** Submits written to it or about to be, their replies not yet in. */
  inflight: number;
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
    this.members.push({ ...primary, inflight: 0, extra: false });
  }

  /**
   * Runs `script(root)` on a shell of the pool (an idle one, else pipelined behind another), in order of
   * arrival; `onWritten` as for ShellSession.run. A request that fails (its shell ended: the connection
   * broke) fails the pool: the submits waiting fail with it, and the caller retries them over a new
   * connection (a submit's id and nonce make its retry safe: it finds the job its first try made).
   */
  async run(script: (root: string) => string, onWritten?: () => void): Promise<RunResult> {
    const member = await this.acquire();
    let result: RunResult;
    try {
      result = await member.session.run(script(member.root), onWritten, { pipelined: true });
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
    const idle = this.members.find((m) => m.inflight === 0);
    if (idle) {
      idle.inflight++;
      return Promise.resolve(idle);
    }
    // Every shell is busy: one more shell, while the pool may grow (one at a time: a load costs the host
    // too); meanwhile behind the least busy shell, when one has room.
    if (this.opening === 0 && !this.noMore && this.members.length < 1 + EXTRA_SHELLS) void this.grow();
    const least = this.members.reduce<Member | undefined>((a, m) => (m.inflight < PIPELINE_DEPTH && (!a || m.inflight < a.inflight) ? m : a), undefined);
    if (least) {
      least.inflight++;
      return Promise.resolve(least);
    }
    return new Promise<Member>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(member: Member): void {
    const next = this.waiting.shift();
    if (next) return next.resolve(member); // its count stays: the next submit's
    member.inflight--;
    if (this.members.every((m) => m.inflight === 0) && this.members.some((m) => m.extra)) {
      this.idleTimer = setTimeout(() => {
        for (const m of this.members.filter((x) => x.extra && x.inflight === 0)) this.drop(m);
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
      else member = { session, root, inflight: 1, extra: true };
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

// The client's side of the session fast path (src/remote/session.ts, docs/protocol.md "Library
// sessions"): which calls of a queue run from memory in the connection's long-lived shell, the load of
// the helpers into that shell (once per shell) and the probe of the queue (once per shell and queue).
import { EXIT } from '../errors.js';
import type { EventHandler } from '../events.js';
import type { Arg } from '../protocol/invocation.js';
import { shQuotePath } from '../transport/quote.js';
import type { ShellSession } from '../transport/shell-session.js';
import type { RunResult, Transport } from '../transport/transport.js';
import { loadBundle, type Bundle } from './bundle.js';
import type { CallOptions } from './call.js';
import { ShellPool } from './session-pool.js';
import {
  probedRoot,
  probeScript,
  SESSION_COMMANDS,
  SESSION_MISS,
  SESSION_SUBMIT,
  sessionCallScript,
  sessionLoadHash,
  sessionLoadScript,
  sessionStatusScript,
  sessionSubmitScript,
} from './session.js';

/** Whether SESSION came loaded with this bundle's helpers (a --persist master's warm shell). */
function preloadedWith(session: ShellSession, bundle: Bundle): boolean {
  // the hash only for a warm shell: hashing the load script cost every other CLI command 3-4 ms of CPU
  return session.preloaded !== undefined && session.preloaded.loaded === sessionLoadHash(bundle);
}

/** Sessions that hold this client's helpers: one load per session, whichever queue asked for it. */
const loaded = new WeakMap<ShellSession, Promise<boolean>>();

export class SessionCalls {
  /** Per session: the queue's physical path when calls may run from memory there, else undefined. */
  private probed = new WeakMap<ShellSession, Promise<string | undefined>>();
  private readonly firstCalls = new WeakSet<ShellSession>();
  /** Per session: the shells its submits run in side by side (src/remote/session-pool.ts). */
  private pools = new WeakMap<ShellSession, ShellPool>();

  constructor(
    /** The queue's current transport (it is replaced after a broken connection). */
    private readonly transport: () => Transport,
    private readonly path: string,
    private readonly onEvent?: EventHandler,
  ) {}

  /** Probe again before the next call: the helpers were (re)installed. */
  forget(): void {
    this.probed = new WeakMap();
    this.pools = new WeakMap(); // their extra shells close when idle
  }

  /**
   * The root to run COMMAND from memory in SESSION with (src/remote/session.ts), or undefined. The first
   * call of a session takes the invocation (a CLI command makes one call: the load would only delay it);
   * the second loads the helpers and probes the queue, once for the session.
   */
  private async root(session: ShellSession): Promise<string | undefined> {
    // once probed, a call needs nothing else (the bundle's hash is for the session's first calls)
    const probed = this.probed.get(session);
    if (probed) return probed;
    // A shell a --persist master loaded ahead (src/persist/warm-shell.ts) takes even the first call.
    const warm = preloadedWith(session, await loadBundle());
    let root = this.probed.get(session);
    if (!root && !this.firstCalls.has(session) && !warm) {
      this.firstCalls.add(session);
      return undefined;
    }
    if (!root) {
      root = this.prepare(session);
      this.probed.set(session, root);
    }
    return root;
  }

  /** Loads the helpers into SESSION (once per session) and probes the queue there: the root, or undefined. */
  private async prepare(session: ShellSession): Promise<string | undefined> {
    const bundle = await loadBundle();
    const warm = preloadedWith(session, bundle);
    let load = loaded.get(session);
    if (!load) {
      load = warm ? Promise.resolve(true) : session.load(sessionLoadScript(bundle)).then((r) => r.code === 0);
      loaded.set(session, load);
    }
    if (!(await load)) return undefined;
    // a warm shell's master probed the default queue in it already (a call finds out if it changed since)
    const early = warm && session.preloaded?.probe?.queue === this.path ? session.preloaded.probe.stdout : undefined;
    if (early !== undefined) return probedRoot(early, bundle);
    const probe = await session.run(probeScript(shQuotePath(this.path)));
    return probe.code === 0 ? probedRoot(probe.stdout.toString(), bundle) : undefined;
  }

  /** A call through the session's loaded helpers, or undefined when it must take the invocation. */
  async call(command: string, args: Arg[], options: CallOptions, what: string): Promise<RunResult | undefined> {
    const transport = this.transport();
    if (command === SESSION_SUBMIT && options.inline && !options.stdout && !options.streamMarker && transport.session) {
      if (!args.every((a): a is string => typeof a === 'string')) return undefined;
      return this.submit(transport, args, options.inline, options.onSend, what);
    }
    if (!SESSION_COMMANDS.has(command) || options.stdin || options.stdout || options.streamMarker || !transport.session) return undefined;
    if (!args.every((a): a is string => typeof a === 'string')) return undefined;
    const session = await transport.session();
    const root = await this.root(session);
    if (root === undefined) return undefined;
    this.onEvent?.({ kind: 'exec', host: transport.label, command: what });
    if (command === 'status') {
      // jobs whose state is settled: answered in the shell itself, with no fork
      const here = await session.runHere(sessionStatusScript(root, args));
      if (here.code !== SESSION_MISS) return here;
    }
    const r = await session.run(sessionCallScript(root, command, args));
    // The queue changed since the probe (removed, reinstalled, its mode opened): the invocation finds out
    // what and says it, or sets up, upgrades; this session probes again after that.
    if (r.code === EXIT.UNAVAILABLE || r.code === EXIT.PROTOCOL || r.code === EXIT.NOPERM) {
      this.probed.delete(session);
      return undefined;
    }
    return r;
  }

  /**
   * A submit of a small job from memory (src/remote/session.ts sessionSubmitScript), in one of the
   * session's shells side by side (src/remote/session-pool.ts), or undefined when it must take the
   * invocation (the session's first call, a queue the probe refused).
   */
  private async submit(transport: Transport, args: string[], upload: Buffer, onSend: (() => void) | undefined, what: string): Promise<RunResult | undefined> {
    const session = await transport.session!();
    const root = await this.root(session);
    if (root === undefined) return undefined;
    let pool = this.pools.get(session);
    if (!pool) {
      pool = new ShellPool(transport, { session, root }, (s) => this.prepare(s));
      this.pools.set(session, pool);
    }
    this.onEvent?.({ kind: 'exec', host: transport.label, command: what });
    const r = await pool.run((at) => sessionSubmitScript(at, args, upload), onSend);
    // As for the other calls: the invocation finds out what changed, and this session probes again.
    if (r.code === EXIT.UNAVAILABLE || r.code === EXIT.PROTOCOL || r.code === EXIT.NOPERM) {
      this.probed.delete(session);
      this.pools.delete(session);
      pool.close();
      return undefined;
    }
    return r;
  }
}

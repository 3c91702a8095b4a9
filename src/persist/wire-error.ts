// Errors cross from the master to the CLI as JSON and come out as the same TejError class, so that a
// refused host key or a failed login exits with the same code through a master as without one.
import * as errors from '../errors.js';
import { TejError } from '../errors.js';
import { isBusy, markBusy } from '../transport/busy.js';

export interface WireError {
  name: string;
  message: string;
  hint?: string;
  exitCode?: number;
  retryable?: boolean;
  /** The host closed the connection before the handshake (transport/busy.ts). */
  busy?: boolean;
}

export function toWire(e: unknown): WireError {
  if (e instanceof TejError) return { name: e.name, message: e.message, hint: e.hint, exitCode: e.exitCode, retryable: e.retryable, ...(isBusy(e) ? { busy: true } : {}) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: 'Error', message: err.message };
}

export function fromWire(w: WireError): Error {
  const Class = (errors as Record<string, unknown>)[w.name];
  if (typeof Class === 'function' && (Class === TejError || Class.prototype instanceof TejError)) {
    const e = new (Class as typeof TejError)(w.message, { hint: w.hint });
    if (w.retryable !== undefined) e.retryable = w.retryable;
    if (w.busy) markBusy(e);
    return e;
  }
  if (w.exitCode !== undefined) {
    const e = new TejError(w.message, { hint: w.hint });
    e.exitCode = w.exitCode;
    return e;
  }
  return new Error(w.message);
}

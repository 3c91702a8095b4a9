// A host that closes a connection before the SSH handshake is busy: sshd's MaxStartups (default
// 10:30:100) drops unauthenticated connections beyond 10 at random, so 100 clients at once lose some.
// Such a failure gets more attempts than other network errors, spread out at random (connect.ts).

/** Attempts after the first for a connection closed before the handshake (about 40 s in all). */
export const BUSY_RETRIES = 8;

export function markBusy<T extends Error>(e: T): T {
  (e as T & { busy?: boolean }).busy = true;
  return e;
}

export function isBusy(e: unknown): boolean {
  return e instanceof Error && (e as Error & { busy?: boolean }).busy === true;
}

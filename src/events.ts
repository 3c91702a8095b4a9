// What the library reports while it works. It never prints: the CLI renders these on stderr.

export type TejEvent =
  | { kind: 'connect'; host: string; via?: string }
  /** The SSH handshake has begun: from here the client mostly waits on the host (kex, login). */
  | { kind: 'handshake'; host: string }
  | { kind: 'connected'; host: string; ms: number }
  | { kind: 'auth'; host: string; method: string; detail?: string }
  | { kind: 'exec'; host: string; command: string }
  | { kind: 'setup'; host: string; queue: string; reason: string }
  | { kind: 'upload-progress'; host: string; bytes: number; files: number; totalBytes: number; totalFiles: number; skippedBytes?: number | undefined }
  /** The submit's end marker is being handed to the connection: from here the host may start the job. */
  | { kind: 'upload-committed'; host: string; id: string }
  /** `destination` is the local path, or '-' for stdout. */
  | { kind: 'download-progress'; host: string; path: string; destination: string; bytes: number; files: number; done: boolean; unchangedFiles?: number; unchangedBytes?: number }
  | { kind: 'retry'; host: string; attempt: number; error: string }
  | { kind: 'warning'; host: string; message: string }
  /** tej forward: the job is not running yet (queued, submitting); it waits for the start. */
  | { kind: 'forward-waiting'; host: string; id: string; state: string };

export type EventHandler = (event: TejEvent) => void;

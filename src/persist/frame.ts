// The framing of the persistent-connection socket (docs/protocol.md, "Persistent connections"): after
// the client's one JSON request line, every message is [type: u8][length: u32 big-endian][payload].

/** The frame types: `FRAME.EXIT` is a frame, never an exit code (those are errors.ts's EXIT). */
export const FRAME = {
  /** Client to master. */
  STDIN: 0x01,
  STDIN_EOF: 0x02,
  /** A signal the client got (payload: its name, SIGINT, SIGTERM or SIGHUP), for the command it runs (op 'run'). */
  SIGNAL: 0x03,
  /**
   * The client is done with its warm shell, idle between requests, holding the master's load (op exec
   * with warm): the master keeps it for the next client instead of closing it (empty payload).
   */
  RELEASE: 0x04,
  /** Master to client. */
  OPENED: 0x10,
  STDOUT: 0x11,
  STDERR: 0x12,
  EXIT: 0x13,
  ERROR: 0x14,
} as const;

const HEADER = 5;
/** Larger than any chunk either side writes (ssh2 packets, socket reads); a bigger length is corruption. */
export const MAX_FRAME = 16 * 1024 * 1024;

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body], HEADER + body.length);
}

/** Turns a byte stream split anywhere into whole frames. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    while (this.buf.length >= HEADER) {
      const length = this.buf.readUInt32BE(1);
      if (length > MAX_FRAME) throw new Error(`bad frame: length ${length} is over ${MAX_FRAME}`);
      if (this.buf.length < HEADER + length) break;
      frames.push({ type: this.buf.readUInt8(0), payload: Buffer.from(this.buf.subarray(HEADER, HEADER + length)) });
      this.buf = this.buf.subarray(HEADER + length);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Splits the first line (the JSON request) from what follows it; undefined until the newline came. */
export function takeLine(buf: Buffer, max = 64 * 1024): { line: string; rest: Buffer } | undefined {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) {
    if (buf.length > max) throw new Error(`bad request: no newline in the first ${max} bytes`);
    return undefined;
  }
  return { line: buf.subarray(0, nl).toString(), rest: buf.subarray(nl + 1) };
}

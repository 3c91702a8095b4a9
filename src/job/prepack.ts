// A small job's tar stream read into memory ahead of its upload. The CLI does this while the connection
// opens: reading and packing thousands of small files is the client's biggest cost in a submit, and it
// fills the handshake's waits instead of following them. The chunks can be sent again on a retry.
import { Readable } from 'node:stream';
import { packChunks, type JobMeta, type PackProgress, type Scan } from './pack.js';

/** Jobs up to this size are packed ahead; bigger ones are streamed as they are read. */
export const PREPACK_MAX_BYTES = 16 * 1024 * 1024;

export interface Prepacked {
  chunks: Buffer[];
  /** Bytes and files of content packed when each chunk was complete, for the progress events. */
  progress: [bytes: number, files: number][];
}

export async function prepack(scan: Scan, meta: JobMeta, nonce: string): Promise<Prepacked> {
  let last: [number, number] = [0, 0];
  const out: Prepacked = { chunks: [], progress: [] };
  // In slices of 2 ms: the connection's handshake messages are answered between them, not after it all.
  const chunks = packChunks(scan, meta, nonce, { sliceMs: 2, onProgress: (bytes, files) => (last = [bytes, files]) });
  for await (const chunk of chunks) {
    out.chunks.push(chunk);
    out.progress.push(last);
  }
  return out;
}

/** The packed stream, once more; progress is reported as each chunk is taken for sending. */
export function replay(packed: Prepacked, onProgress?: PackProgress): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < packed.chunks.length; i++) {
        onProgress?.(...packed.progress[i]!);
        yield packed.chunks[i]!;
      }
    })(),
  );
}

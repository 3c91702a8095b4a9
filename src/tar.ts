// tar-stream, loaded on first use: status, list and kill never need it, and it costs tens of
// milliseconds of start-up.
//
// Archives are written with tar-stream's header encoder rather than its pack stream. The pack runs a
// writable stream per entry, which cost a 2000-file job 130-180 ms of a cold process's CPU (more than
// the whole transfer); the headers are what needs a library (pax for long or non-ASCII names), and the
// bytes are the same as the pack's (test/unit/tar.test.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type tarStream from 'tar-stream';

export type { Extract } from 'tar-stream';

let loaded: typeof tarStream | undefined;

export function tar(): typeof tarStream {
  loaded ??= createRequire(import.meta.url)('tar-stream') as typeof tarStream;
  return loaded;
}

export interface TarEntry {
  name: string;
  /** 'link': a hard link to the entry named linkname, extracted earlier (the content store's new blobs). */
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  mtime: Date;
  /** A file's content length; ignored for other types. */
  size?: number;
  linkname?: string;
}

interface HeaderFields extends Omit<TarEntry, 'type'> {
  type: TarEntry['type'] | 'pax-header';
  uid: number;
  gid: number;
}

/** A decoded header block, as tar-stream's extract gives it. */
export interface DecodedHeader {
  name: string;
  mode: number | null;
  size: number;
  type: string | null;
  linkname: string | null;
  mtime?: Date | null;
}

interface Encoder {
  /** One 512-byte header, or null when the name or link does not fit ustar (too long, not ASCII). */
  encode(h: HeaderFields): Buffer | null;
  encodePax(h: { name: string; linkname?: string }): Buffer;
  /** null for a block of zeros; throws on a bad checksum or an unknown format. */
  decode(block: Buffer, filenameEncoding: string, allowUnknownFormat: boolean): DecodedHeader | null;
  decodePax(buf: Buffer): Record<string, string>;
  decodeLongPath(buf: Buffer, encoding: string): string;
}

let encoder: Encoder | undefined;

export function tarHeaders(): Encoder {
  // headers.js is not in tar-stream's exports map: reached by its path next to the package's main file.
  if (!encoder) {
    const require = createRequire(import.meta.url);
    encoder = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as Encoder;
  }
  return encoder;
}

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK);

/** A content length rounded up to whole blocks. */
export function tarPadded(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

// The common header, written in place: an ASCII name and link of up to 100 bytes, sizes and times
// that fit their octal fields. tar-stream's encoder costs 5 µs a header when warm and 15-20 µs in a
// fresh process, 40 ms of a 2000-file submit; this writes the same bytes (test/unit/tar.test.ts) in
// well under a microsecond. Every other entry goes through the encoder.
const USTAR_BLOCK = (() => {
  const b = Buffer.alloc(TAR_BLOCK);
  for (const [off, text] of [[108, '000000 '], [116, '000000 '], [257, 'ustar\0'], [263, '00'], [329, '000000 '], [337, '000000 ']] as const) b.write(text, off, 'latin1');
  return b;
})();
/** The checksum of USTAR_BLOCK, its checksum field counted as spaces. */
const USTAR_SUM = USTAR_BLOCK.reduce((sum, byte) => sum + byte, 8 * 32);
const TYPEFLAG = { file: '0', link: '1', symlink: '2', directory: '5' } as const;
const ASCII = /^[\x01-\x7f]*$/;
const MAX_OCTAL_11 = 8 ** 11;

function mtimeSeconds(entry: TarEntry): number {
  return Math.floor(entry.mtime.getTime() / 1000);
}

function fitsUstarBlock(entry: TarEntry): boolean {
  const seconds = mtimeSeconds(entry);
  return (
    entry.name.length <= 100 &&
    ASCII.test(entry.name) &&
    (entry.linkname === undefined || (entry.linkname.length <= 100 && ASCII.test(entry.linkname))) &&
    (entry.size ?? 0) < MAX_OCTAL_11 &&
    seconds >= 0 &&
    seconds < 2 ** 31 // tar-stream truncates to 32 bits: later times are left to it, to match byte for byte
  );
}

/** Writes an ASCII field and returns its bytes' sum, for the checksum (a byte loop: Buffer.write's call into C++ costs more for a dozen bytes). */
function field(buf: Buffer, off: number, text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    buf[off + i] = c;
    sum += c;
  }
  return sum;
}

function octal(value: number, digits: number): string {
  return value.toString(8).padStart(digits, '0') + ' ';
}

/** Writes an entry's header as one block at off. Only for an entry that needs nothing more: see specialTarHeader. */
export function writeUstarHeader(entry: TarEntry, buf: Buffer, off: number): void {
  buf.set(USTAR_BLOCK, off); // set, not copy: copy costs a microsecond a call
  let sum = USTAR_SUM;
  sum += field(buf, off, entry.name);
  sum += field(buf, off + 100, octal(entry.mode & 0o7777, 6));
  sum += field(buf, off + 124, octal(entry.type === 'file' ? (entry.size ?? 0) : 0, 11));
  sum += field(buf, off + 136, octal(mtimeSeconds(entry), 11));
  sum += field(buf, off + 156, TYPEFLAG[entry.type]);
  if (entry.linkname) sum += field(buf, off + 157, entry.linkname);
  field(buf, off + 148, octal(sum, 6));
}

/**
 * The header of an entry that one plain block written by writeUstarHeader would not give as tar-stream
 * does (a name over 100 bytes or not ASCII, a size or time beyond its field), from tar-stream's encoder:
 * a block with a ustar prefix, or a pax entry carrying the path (and link) followed by the entry's own
 * block under the name PaxHeader. Undefined for every other entry.
 */
export function specialTarHeader(entry: TarEntry): Buffer | undefined {
  if (fitsUstarBlock(entry)) return undefined;
  const { encode, encodePax } = tarHeaders();
  const fields: HeaderFields = { ...entry, size: entry.type === 'file' ? (entry.size ?? 0) : 0, uid: 0, gid: 0 };
  const plain = encode(fields);
  if (plain) return plain;
  const pax = encodePax({ name: entry.name, ...(entry.linkname ? { linkname: entry.linkname } : {}) });
  const named = { ...fields, name: 'PaxHeader', ...(entry.linkname ? { linkname: 'PaxHeader' } : {}) };
  const paxHeader = encode({ ...named, type: 'pax-header', size: pax.length })!;
  const out = Buffer.alloc(2 * TAR_BLOCK + tarPadded(pax.length));
  paxHeader.copy(out, 0);
  pax.copy(out, TAR_BLOCK);
  encode(named)!.copy(out, out.length - TAR_BLOCK);
  return out;
}

/** The header block(s) of one entry, as tar-stream's pack writes them. */
export function tarHeader(entry: TarEntry): Buffer {
  const special = specialTarHeader(entry);
  if (special) return special;
  const block = Buffer.alloc(TAR_BLOCK);
  writeUstarHeader(entry, block, 0);
  return block;
}

/** A whole archive of entries held in memory, end blocks included. */
export function tarArchive(entries: [entry: Omit<TarEntry, 'size'>, content?: Buffer | string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [entry, content] of entries) {
    const data = typeof content === 'string' ? Buffer.from(content) : (content ?? Buffer.alloc(0));
    parts.push(tarHeader({ ...entry, size: data.length }), data, Buffer.alloc(tarPadded(data.length) - data.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

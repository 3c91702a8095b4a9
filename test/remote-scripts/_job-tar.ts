// Job uploads as the helpers receive them, and tar streams as they send them: the tar side of the
// helper tests (submit's input, download's output).
import tar from 'tar-stream';

export type TreeEntry = string | { symlink: string } | { mode: number; content: string };

export interface JobFixture {
  script?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  stdout?: string;
  stderr?: string;
  nproc?: number;
  timeLimit?: number;
  /** Files of work/, by path; a directory is made for every parent. */
  files?: Record<string, TreeEntry>;
  /** The end marker's nonce; null leaves the marker out. */
  nonce?: string | null;
  /** More files of meta/ (labels, notify-command, spec.json, job.json), by name. */
  meta?: Record<string, string>;
  /** Submit with --keep-input (the upload is kept as input.tar). */
  keepInput?: boolean;
}

/** The tar stream `submit` reads, packed like the client does (meta/, work/, then end-NONCE). */
export async function jobTar(spec: JobFixture): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const file = (name: string, content: string, mode = 0o600) => pack.entry({ name, mode }, content);
  pack.entry({ name: 'meta/', type: 'directory', mode: 0o700 });
  if (spec.command !== undefined) file('meta/command', spec.command);
  if (spec.script !== undefined) file('meta/script', spec.script);
  (spec.args ?? []).forEach((a, i) => file(`meta/args/${String(i).padStart(4, '0')}`, a));
  for (const [k, v] of Object.entries(spec.env ?? {})) file(`meta/env/${k}`, v);
  if (spec.stdout) file('meta/stdout', spec.stdout);
  if (spec.stderr) file('meta/stderr', spec.stderr);
  if (spec.nproc) file('meta/nproc', String(spec.nproc));
  if (spec.timeLimit) file('meta/time_limit', String(spec.timeLimit));
  for (const [name, content] of Object.entries(spec.meta ?? {})) file(`meta/${name}`, content);
  pack.entry({ name: 'work/', type: 'directory', mode: 0o700 });
  const dirs = new Set<string>();
  for (const [path, entry] of Object.entries(spec.files ?? {})) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) pack.entry({ name: `work/${dir}/`, type: 'directory', mode: 0o755 });
      dirs.add(dir);
    }
    if (typeof entry === 'string') file(`work/${path}`, entry, 0o644);
    else if ('symlink' in entry) pack.entry({ name: `work/${path}`, type: 'symlink', linkname: entry.symlink });
    else file(`work/${path}`, entry.content, entry.mode);
  }
  const nonce = spec.nonce === undefined ? 'N0nce' : spec.nonce;
  if (nonce !== null) file(`end-${nonce}`, '');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Lists the entries of a tar stream: name, type and link target. */
export async function tarEntries(data: Buffer): Promise<{ name: string; type: string; linkname?: string; content: string }[]> {
  const extract = tar.extract();
  const out: { name: string; type: string; linkname?: string; content: string }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        out.push({ name: header.name, type: header.type ?? 'file', linkname: header.linkname ?? undefined, content: Buffer.concat(parts).toString() });
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(data);
  await done;
  return out;
}

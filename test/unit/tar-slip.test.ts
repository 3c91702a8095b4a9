// Tar-slip: a download's tar stream comes from the remote host, which the client does not trust to stay
// inside the destination. Hostile streams (as a compromised host could send) must write nothing outside.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import tar from 'tar-stream';
import { extractDownload } from '../../src/download/extract.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; content?: string };

function tarOf(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const e of entries) {
    if ((e.type ?? 'file') === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.content ?? 'x');
    else pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: 0o755 });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

/** Every path under `root`, with symlinks shown as `path -> target`. */
function tree(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix)).sort().flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(root, rel));
    if (st.isSymbolicLink()) return [`${rel} -> ${readlinkSync(join(root, rel))}`];
    if (st.isDirectory()) return [`${rel}/`, ...tree(root, rel)];
    return [rel];
  });
}

describe('download extraction refuses tar-slip', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tej-slip-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  const extract = async (entries: Entry[]) => {
    const base = join(tmp, `case${n++}`);
    const dest = join(base, 'in', 'top');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(base, 'in'), { recursive: true });
    const r = await extractDownload(tarOf(entries), dest, new PassThrough());
    return { base, r };
  };

  it('skips names with .. and absolute names that leave the destination', async () => {
    const { base, r } = await extract([
      { name: 'top/', type: 'directory' },
      { name: 'top/ok.txt', content: 'fine' },
      { name: 'top/../escape1' },
      { name: 'top/sub/../../../escape2' },
      { name: 'other/escape3' },
    ]);
    assert.deepEqual(tree(base), ['in/', 'in/top/', 'in/top/ok.txt']);
    assert.equal(readFileSync(join(base, 'in/top/ok.txt'), 'utf8'), 'fine');
    assert.deepEqual(r.skipped.sort(), ['other/escape3', 'top/../escape1', 'top/sub/../../../escape2']);
  });

  it('keeps symlinks inside, skips those that point out, and hard links', async () => {
    const { base, r } = await extract([
      { name: 'top/', type: 'directory' },
      { name: 'top/ok.txt' },
      { name: 'top/inside', type: 'symlink', linkname: 'ok.txt' },
      { name: 'top/abs', type: 'symlink', linkname: '/etc' },
      { name: 'top/up', type: 'symlink', linkname: '../..' },
      { name: 'top/hard', type: 'link', linkname: '/etc/passwd' },
    ]);
    assert.deepEqual(tree(base), ['in/', 'in/top/', 'in/top/inside -> ok.txt', 'in/top/ok.txt']);
    assert.deepEqual(r.skipped.sort(), ['top/abs', 'top/hard', 'top/up']);
  });

  it('never writes through a symlink: a chain of links that leads out is cut', async () => {
    // top/a -> . is harmless alone; top/a/b -> .. looks like top/b -> top/.. lexically but is
    // top/b -> .. physically (out); then top/b/escape would land beside the destination.
    const { base, r } = await extract([
      { name: 'top/', type: 'directory' },
      { name: 'top/a', type: 'symlink', linkname: '.' },
      { name: 'top/a/b', type: 'symlink', linkname: '..' },
      { name: 'top/b/escape4', content: 'pwned' },
      { name: 'top/a/escape5', content: 'via a link' },
      { name: 'top/d', type: 'symlink', linkname: 'sub' },
      { name: 'top/d/x/escape6', content: 'through a link to a dir' },
    ]);
    const files = tree(base);
    assert.ok(files.every((f) => f === 'in/' || f.startsWith('in/top/')), `nothing beside the destination:\n${files.join('\n')}`);
    assert.ok(!files.includes('in/top/a/escape5') && !files.some((f) => f.startsWith('in/top/b ->')), files.join('\n'));
    assert.deepEqual(r.skipped.sort(), ['top/a/b', 'top/a/escape5', 'top/d/x/escape6']);
  });

  /** Every symlink under `root` that resolves (or, dangling, would resolve) outside `root`. */
  const escaping = (root: string): string[] =>
    tree(root)
      .filter((f) => f.includes(' -> '))
      .map((f) => f.split(' -> ')[0]!)
      .filter((l) => {
        try {
          const to = realpathSync(join(root, l));
          return !to.startsWith(realpathSync(root) + '/') && to !== realpathSync(root);
        } catch {
          return true; // dangling: where a write through it would create a file is not known to be inside
        }
      });

  it('judges links by where they lead through the links already written: a chain of l -> prev/.. is cut', async () => {
    // Lexically each of these stays inside (l1 -> l0/.. is top); physically l0 is top, so l1 is top's
    // parent, l2 the one above, and key the file beside it: the client's ~/.ssh/id_ed25519 in the report.
    const { base, r } = await extract([
      { name: 'top/', type: 'directory' },
      { name: 'top/l0', type: 'symlink', linkname: '.' },
      { name: 'top/l1', type: 'symlink', linkname: 'l0/..' },
      { name: 'top/l2', type: 'symlink', linkname: 'l1/..' },
      { name: 'top/key', type: 'symlink', linkname: 'l2/secret' },
      { name: 'top/rc', type: 'symlink', linkname: 'l2/bashrc' },
      { name: 'top/ok.txt', content: 'fine' },
    ]);
    writeFileSync(join(base, 'secret'), 'private');
    const top = join(base, 'in', 'top');
    assert.deepEqual(escaping(top), [], tree(top).join('\n'));
    assert.ok(existsSync(join(top, 'l0')), 'a link to the directory itself is inside and kept');
    assert.equal(readFileSync(join(top, 'ok.txt'), 'utf8'), 'fine');
    assert.deepEqual(r.skipped.sort(), ['top/key', 'top/l1', 'top/l2', 'top/rc']);
    assert.ok(!existsSync(join(base, 'bashrc')));
  });

  it('a link that climbs through a name not there yet is judged once that name exists', async () => {
    // a -> x/.. is top while x is missing; x -> l0 and l0 -> . come later and make a the parent.
    const { base, r } = await extract([
      { name: 'top/', type: 'directory' },
      { name: 'top/a', type: 'symlink', linkname: 'x/..' },
      { name: 'top/x', type: 'symlink', linkname: 'l0' },
      { name: 'top/l0', type: 'symlink', linkname: '.' },
    ]);
    const top = join(base, 'in', 'top');
    assert.deepEqual(escaping(top), [], tree(top).join('\n'));
    assert.deepEqual(r.skipped, ['top/a']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDownloadRequest } from '../../src/download/request.js';
import { ConfigError, InvalidInputError } from '../../src/errors.js';
import { parseDuration, validateSpec } from '../../src/job/spec.js';
import { describeStatus, formatDuration } from '../../src/job/status.js';

describe('download specs', () => {
  it("parses tej's three forms", () => {
    assert.deepEqual(parseDownloadRequest('out.txt'), { remote: 'out.txt', target: { kind: 'cwd' } });
    assert.deepEqual(parseDownloadRequest('log.txt:'), { remote: 'log.txt', target: { kind: 'stdout' } });
    assert.deepEqual(parseDownloadRequest('res.csv:/tmp/r.csv'), { remote: 'res.csv', target: { kind: 'path', path: '/tmp/r.csv' } });
    assert.deepEqual(parseDownloadRequest('results/'), { remote: 'results', target: { kind: 'cwd' } });
  });

  it('takes \\: as a colon of the name, so that names with colons can be downloaded', () => {
    assert.deepEqual(parseDownloadRequest('run-2026-01-01T10\\:00\\:00.csv'), { remote: 'run-2026-01-01T10:00:00.csv', target: { kind: 'cwd' } });
    assert.deepEqual(parseDownloadRequest('a\\:b:'), { remote: 'a:b', target: { kind: 'stdout' } });
    assert.deepEqual(parseDownloadRequest('d/t10\\:00.csv:/tmp/x:y'), { remote: 'd/t10:00.csv', target: { kind: 'path', path: '/tmp/x:y' } });
    assert.deepEqual(parseDownloadRequest('back\\slash'), { remote: 'back\\slash', target: { kind: 'cwd' } });
  });

  it('expands a destination ~ or ~/ to the local home, as a shell would, and refuses ~user', () => {
    assert.deepEqual(parseDownloadRequest('out.txt:~/x', '/home/me'), { remote: 'out.txt', target: { kind: 'path', path: '/home/me/x' } });
    assert.deepEqual(parseDownloadRequest('out.txt:~', '/home/me'), { remote: 'out.txt', target: { kind: 'path', path: '/home/me' } });
    assert.deepEqual(parseDownloadRequest('out.txt:./~x', '/home/me'), { remote: 'out.txt', target: { kind: 'path', path: './~x' } });
    assert.throws(() => parseDownloadRequest('out.txt:~bob/x', '/home/me'), (e: Error) => e instanceof InvalidInputError && /~user/.test(e.message));
  });

  it('refuses paths that leave the job', () => {
    for (const s of ['../x', 'a/../../b', '/etc/passwd', ':', '/etc/passwd:x', 'a\nb']) {
      assert.throws(() => parseDownloadRequest(s), InvalidInputError, s);
    }
  });
});

describe('tej.json and durations', () => {
  it('parses human durations', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('2d'), 172800);
    assert.equal(parseDuration('45'), 45);
    assert.equal(parseDuration('1:30:00'), 5400);
    assert.equal(parseDuration('1-00:00:10'), 86410);
    assert.equal(parseDuration(600), 600);
    for (const bad of ['', '1x', '0', 'h', '-5']) assert.throws(() => parseDuration(bad), ConfigError, bad);
  });

  it('accepts a full spec', async () => {
    const spec = { script: 'run.sh', args: ['a'], env: { A: '1' }, time_limit: '1h', cpus: 2, memory: '4G', gpus: 1, labels: { exp: 'x' }, slurm: { partition: 'debug' } };
    assert.deepEqual(await validateSpec(spec, 'tej.json'), spec);
  });

  it('lists every schema problem with its field path', async () => {
    await assert.rejects(validateSpec({ cpus: 'two', colour: 'red', env: { 'BAD-NAME': 'x' } }, 'job/tej.json'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, 78);
      assert.match(e.message, /job\/tej\.json/);
      assert.match(e.message, /\/cpus: must be integer/);
      assert.match(e.message, /unknown field 'colour'/);
      assert.match(e.message, /\/env/);
      return true;
    });
  });
});

describe('status lines', () => {
  it('formats durations and states like the README shows', () => {
    assert.equal(formatDuration(5337), '1:28:57');
    assert.equal(formatDuration(65), '1:05');
    assert.equal(formatDuration(90061), '1d 1:01:01');
    assert.equal(describeStatus(undefined), 'no such job');
    assert.equal(describeStatus({ id: 'a', state: 'running', elapsed: 5337 }), 'running (1:28:57)');
    assert.equal(describeStatus({ id: 'a', state: 'finished', exitCode: 0, elapsed: 3 }), 'finished (exit 0, 0:03)');
  });
});

// foldArrayOptions: `--id a --id b` becomes `--id a b`, which yargs parses to the same result, fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import yargs from 'yargs';
import { foldArrayOptions, ID_JOIN, splitJoinedIds } from '../../src/cli/fold-args.js';

function parse(argv: string[]): Record<string, unknown> {
  const r = yargs(argv)
    .command('status [destination..]', 'x', (y) => y.option('id', { type: 'string', array: true, coerce: splitJoinedIds }).option('label', { type: 'string', array: true }))
    .option('json', { type: 'boolean' })
    .strict()
    .exitProcess(false)
    .fail((msg) => {
      throw new Error(msg);
    })
    .parseSync();
  return { id: r.id, label: r.label, destination: r.destination, json: r.json, rest: r._ };
}

test('folding repeated --id and --label parses to the same ids, labels, destination and flags', () => {
  const cases: string[][] = [
    ['status', 'h1', '--id', 'a', '--id', 'b', '--id', 'c'],
    ['status', '--id', 'a', '--id', 'b', 'h1'],
    ['status', '--id', 'a', 'h1', '--id', 'b'],
    ['status', 'h1', '--id', 'a', '--json', '--id', 'b'],
    ['status', 'h1', '--id', 'a', '--label', 'k=v', '--label', 'x', '--id', 'b', '--id', 'c'],
    ['status', 'h1', '--id=a', '--id', 'b', '--id=c'],
    ['status', 'h1', '--id', 'a', '--id', '--json'],
    ['status', 'h1', '--id', '7', '--id', '08'],
    ['status', 'h1', '--id', 'a', '--', '--id', 'b'],
  ];
  for (const argv of cases) assert.deepEqual(parse(foldArrayOptions(argv)), parse(argv), argv.join(' '));
});

test('adjacent repetitions become one option with all the values, in order; nothing else moves', () => {
  assert.deepEqual(foldArrayOptions(['status', 'h1', '--id', 'a', '--id', 'b', '--json', '--id', 'c', '--id', '-x']), ['status', 'h1', '--id', 'a', 'b', '--json', '--id', 'c', '--id', '-x']);
  assert.deepEqual(foldArrayOptions(['--id', 'a', '--', '--id', 'b']), ['--id', 'a', '--', '--id', 'b']);
});

test('4000 repeated ids fold into one option, which parses to the same 4000 ids', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `many-st${i}`);
  const argv = ['status', 'h1', ...ids.flatMap((id) => ['--id', id])];
  const folded = foldArrayOptions(argv);
  assert.deepEqual(folded, ['status', 'h1', '--id', ids.join(ID_JOIN)]);
  assert.deepEqual(parse(folded).id, ids);
});

test('a run of 8 and more --id values is joined for the commands that select jobs, never elsewhere', () => {
  const ids = Array.from({ length: 8 }, (_, i) => `j${i}`);
  const repeated = ids.flatMap((id) => ['--id', id]);
  const cases: string[][] = [
    ['status', 'h1', ...repeated, '--json', ...repeated.slice(0, 6), '--label', 'k', ...repeated],
    ['status', ...repeated, 'h1', '--id', 'x'],
    ['status', 'h1', ...repeated, '--', '--id', 'b'],
  ];
  for (const argv of cases) assert.deepEqual(parse(foldArrayOptions(argv)), parse(argv), argv.join(' '));
  assert.deepEqual(foldArrayOptions(['kill', ...repeated]), ['kill', '--id', ids.join(ID_JOIN)]);
  assert.deepEqual(foldArrayOptions(['status', ...repeated.slice(0, 14)]), ['status', '--id', ...ids.slice(0, 7)]);
  // the commands whose --id takes no joined value, and a command the fold cannot tell (after a global option)
  for (const argv of [['submit', ...repeated, 'dir'], ['download', ...repeated, 'f'], ['logs', ...repeated], ['-v', 'status', ...repeated]]) {
    assert.equal(foldArrayOptions(argv).some((a) => a.includes(ID_JOIN)), false, argv[0]);
  }
});

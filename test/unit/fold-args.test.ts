// foldArrayOptions: `--id a --id b` becomes `--id a b`, which yargs parses to the same result, fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import yargs from 'yargs';
import { foldArrayOptions } from '../../src/cli/fold-args.js';

function parse(argv: string[]): Record<string, unknown> {
  const r = yargs(argv)
    .command('status [destination..]', 'x', (y) => y.option('id', { type: 'string', array: true }).option('label', { type: 'string', array: true }))
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
  assert.equal(folded.length, 4003);
  assert.deepEqual(parse(folded).id, ids);
});

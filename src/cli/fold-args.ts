// Adjacent repetitions of an array option, `--id a --id b --id c`, folded into `--id a b c` before
// yargs parses them: yargs-parser copies the whole array for each repetition (concat), quadratic in
// their number. 4000 ids (a script's `tej status --id ... --id ...`) took 640-760 ms to parse, folded
// 100 ms. An array option takes the words after it until the next option either way, so the result is
// the same: only `--name VALUE` pairs next to each other are folded, never across another word, a
// VALUE that starts with '-', or `--`.
const FOLDED = new Set(['--id', '--label']);

export function foldArrayOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  let last: string | undefined; // the option whose run of values ends `out`, if any
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const value = argv[i + 1];
    if (FOLDED.has(a) && value !== undefined && !value.startsWith('-')) {
      if (last !== a) out.push(a);
      out.push(value);
      last = a;
      i++;
      continue;
    }
    out.push(a);
    last = undefined;
  }
  return out;
}

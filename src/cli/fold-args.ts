// Adjacent repetitions of an array option, `--id a --id b --id c`, folded into `--id a b c` before
// yargs parses them: yargs-parser copies the whole array for each repetition (concat), quadratic in
// their number. 4000 ids (a script's `tej status --id ... --id ...`) took 640-760 ms to parse, folded
// 100 ms. An array option takes the words after it until the next option either way, so the result is
// the same: only `--name VALUE` pairs next to each other are folded, never across another word, a
// VALUE that starts with '-', or `--`.
const FOLDED = new Set(['--id', '--label']);

// The commands whose --id is selectOptions' (src/cli/select.ts), which splits a joined value again.
const JOINING = new Set(['status', 'kill', 'delete', 'wait', 'show', 'resubmit', 'list']);
/** Joins the values of a long run of --id: no argument holds a NUL. */
export const ID_JOIN = '\0';
const JOIN_AT = 8;

/**
 * Folds adjacent repetitions; with one of JOINING as the first word (a global option before the
 * command only leaves the run unjoined), a run of JOIN_AT and more --id values becomes one value, the
 * values joined by ID_JOIN, which selectOptions' coerce splits: yargs still took 200-360 ms to parse
 * 4000 folded values (checkAllAliases and processValue for each), one joined value 8-80 ms.
 */
export function foldArrayOptions(argv: readonly string[]): string[] {
  const join = JOINING.has(argv[0] ?? '');
  const out: string[] = [];
  let last: string | undefined; // the option whose run of values ends `out`, if any
  let run: string[] = []; // the values of the --id run that ends `out`, when it may be joined
  const endRun = () => {
    if (run.length >= JOIN_AT) out.push(run.join(ID_JOIN));
    else out.push(...run);
    run = [];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      endRun();
      out.push(...argv.slice(i));
      return out;
    }
    const value = argv[i + 1];
    if (FOLDED.has(a) && value !== undefined && !value.startsWith('-')) {
      if (last !== a) {
        endRun();
        out.push(a);
      }
      if (join && a === '--id') run.push(value);
      else out.push(value);
      last = a;
      i++;
      continue;
    }
    endRun();
    out.push(a);
    last = undefined;
  }
  endRun();
  return out;
}

/** The --id values as given: a value foldArrayOptions joined is split again. */
export function splitJoinedIds(values: readonly unknown[]): string[] {
  return values.flatMap((v) => String(v).split(ID_JOIN));
}

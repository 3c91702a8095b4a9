#!/bin/sh
# The README's first command: one job on the embedded local queue, from submit to downloaded result.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
tej() { node "$root/bin/tej.js" "$@"; }
id=$(tej submit fixtures/jobs/hello)
echo "submitted $id"
out=$(mktemp -d)
# wait blocks until the job ends, exits with its state (0: finished with exit 0) and downloads on success.
state=$(cd "$out" && tej wait --id "$id" --download words.txt) || { echo "demo: job ended badly: $state" >&2; exit 1; }
echo "status: $state"
echo "its output:"
tej logs --id "$id"
echo "downloaded words.txt: $(cat "$out/words.txt")"
rm -rf "$out"
tej list

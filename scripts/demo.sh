#!/bin/sh
# The README's first command: one job on the embedded local queue, from submit to downloaded result.
set -eu
cd "$(dirname "$0")/.."
tej() { node bin/tej.js "$@"; }
id=$(tej submit fixtures/jobs/hello)
echo "submitted $id"
while :; do
  state=$(tej status --id "$id") && break
  case $? in 2|3) sleep 0.3 ;; *) echo "demo: job ended badly: $state" >&2; exit 1 ;; esac
done
echo "status: $state"
echo "its output:"
tej download --id "$id" tej.stdout:
out=$(mktemp -d)
tej download --id "$id" "words.txt:$out/words.txt"
echo "downloaded words.txt: $(cat "$out/words.txt")"
rm -rf "$out"
tej list

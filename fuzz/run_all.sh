#!/usr/bin/env bash
# run_all.sh BUILD_DIR SECONDS — runs every libFuzzer harness in BUILD_DIR for
# SECONDS each, with a corpus per harness under BUILD_DIR/corpus/ seeded from
# the committed golden files (safetensors) and small hand-made inputs.
# Exits non-zero if any harness finds a crash (artifacts in BUILD_DIR/artifacts/).
set -uo pipefail
B=${1:?usage: run_all.sh BUILD_DIR SECONDS}
S=${2:-60}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$B/artifacts"
seed() { mkdir -p "$B/corpus/$1"; }
seed json; printf '{"a": [1, -2.5e3, true, null, "x\\u00e9"], "b": {"c": {}}}' >"$B/corpus/json/seed.json"
seed safetensors; cp "$SRC"/tests/golden/*.safetensors "$B/corpus/safetensors/" 2>/dev/null
seed trainstate
seed png
# amat/csv/idx harnesses use the first byte as an option selector (see fuzz_*.c): seeds start with one
seed amat; printf '\x00''0 1 0 1\n1 1 0 0\n' >"$B/corpus/amat/seed.amat"
seed csv; printf '\x01''a,b,c\n1,2.5,-3e2\n4,5,6\n' >"$B/corpus/csv/seed.csv"   # auto header, no label
seed idx; printf '\x00''\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x10\x20\x30' >"$B/corpus/idx/seed"
seed npy
fails=0
for f in "$B"/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f"); kind=${name#fuzz_}
    echo "== $name ($S s)"
    if ! "$f" -max_total_time="$S" -print_final_stats=1 -artifact_prefix="$B/artifacts/$kind-" "$B/corpus/$kind" 2>"$B/$name.log"; then
        echo "   CRASH: see $B/$name.log and $B/artifacts/" >&2
        fails=$((fails + 1))
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss" "$B/$name.log" | sed 's/^/   /'
done
[ $fails -eq 0 ] || { echo "$fails harness(es) crashed" >&2; exit 1; }

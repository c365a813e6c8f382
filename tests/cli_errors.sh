#!/usr/bin/env bash
# cli_errors.sh — bad input to the CLI: every case must give exactly one error
# line naming the file or argument, exit status 1 or 2 (never a crash), and
# leave no partially written output behind.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/cli_common.inc"
G=$GENMOD

make_amat "$T/train.amat" 200 16 1
make_amat "$T/test.amat" 100 16 3
make_amat "$T/d8.amat" 50 8 4
expect_ok "$G" train --model mob --components 3 --epochs 1 --dataset "$T/train.amat" --test-data "$T/test.amat" \
    --run "$T/run" --quiet --samples 0 || { finish; exit 1; }
CK=$T/run/best.safetensors

# --- missing files
expect_fail "$T/nope.safetensors: .*(No such file|cannot open|not found)" "$G" eval "$T/nope.safetensors"
expect_fail "$T/nope.amat" "$G" train --dataset "$T/nope.amat" --run "$T/r0" --quiet
# a named dataset that is not on the search path says where to put what
GENMOD_DATA="$T/empty" expect_fail "binarized-mnist.*($T/empty|GENMOD_DATA)" "$G" train --dataset binarized-mnist --run "$T/r0" --quiet

# --- corrupt / truncated data files
printf '0 1 0 1\n0 1 x 1\n' >"$T/bad.amat"
expect_fail "bad.amat.*(line 2|row 2|row 1)" "$G" train --dataset "$T/bad.amat" --run "$T/r1" --quiet
printf '0 1 0 1\n0 1 0\n' >"$T/ragged.amat"
expect_fail "ragged.amat" "$G" train --dataset "$T/ragged.amat" --run "$T/r1" --quiet
printf '0 0.5 1 0\n1 1 0 0\n' >"$T/grey.amat"
expect_fail "grey.amat.*(binary|0/1)" "$G" train --dataset "$T/grey.amat" --binarize none --run "$T/r1" --quiet
# idx: header promises 100 images of 28x28, file holds 10 bytes of pixels
printf '\x00\x00\x08\x03\x00\x00\x00\x64\x00\x00\x00\x1c\x00\x00\x00\x1c0123456789' >"$T/trunc-idx3-ubyte"
expect_fail "trunc-idx3-ubyte.*(truncated|short|expected)" "$G" train --dataset "$T/trunc-idx3-ubyte" --run "$T/r1" --quiet
printf '\x00\x00\x08\x09\x00' >"$T/magic-idx3-ubyte"
expect_fail "magic-idx3-ubyte" "$G" train --dataset "$T/magic-idx3-ubyte" --run "$T/r1" --quiet
# npy: valid header for (100, 16) float32, but only 64 bytes of data
python_free_npy() { # $1 file, $2 data bytes
    local hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (100, 16), }"
    while [ $(( (10 + ${#hdr} + 1) % 64 )) -ne 0 ]; do hdr="$hdr "; done
    { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $(( (${#hdr} + 1) % 256 )))\\x$(printf %02x $(( (${#hdr} + 1) / 256 )))";
      printf '%s\n' "$hdr"; head -c "$2" /dev/zero; } >"$1"
}
python_free_npy "$T/trunc.npy" 64
expect_fail "trunc.npy.*(truncated|short|expected|bytes)" "$G" train --dataset "$T/trunc.npy" --run "$T/r1" --quiet
printf 'a,b\n1,2\n3,oops\n' >"$T/bad.csv"
expect_fail "bad.csv" "$G" train --dataset "$T/bad.csv" --run "$T/r1" --quiet

# --- corrupt checkpoints and states
head -c 200 "$CK" >"$T/trunc.safetensors"
expect_fail "trunc.safetensors" "$G" eval "$T/trunc.safetensors" --dataset "$T/test.amat"
printf '\xff\xff\xff\xff\x00\x00\x00\x00{}' >"$T/hlen.safetensors"
expect_fail "hlen.safetensors.*header" "$G" info "$T/hlen.safetensors"
printf '\x20\x00\x00\x00\x00\x00\x00\x00{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}' >"$T/range.safetensors"
expect_fail "range.safetensors" "$G" info "$T/range.safetensors"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"x": [1, 2, 3' >"$T/json.safetensors"
expect_fail "json.safetensors" "$G" eval "$T/json.safetensors"
expect_fail "not a genmod checkpoint|format" "$G" eval "$T/run/state.gmts"
cp -r "$T/run" "$T/run2"
head -c 300 "$T/run/state.gmts" >"$T/run2/state.gmts"
expect_fail "run2/state.gmts" "$G" train --resume --run "$T/run2" --quiet
# wrong data dimension for a checkpoint
expect_fail "d8.amat.*8 values.*16" "$G" eval "$CK" --dataset "$T/d8.amat" --per-example "$T/pe-fail.txt"
[ -e "$T/pe-fail.txt" ] && fail "per-example file written on failure" || pass "no partial per-example file"

# --- unknown names and flags
expect_fail "--model: unknown model \"nosuch\"" "$G" train --model nosuch
expect_fail "--dataset: unknown dataset \"nosuch\"" "$G" train --dataset nosuch --run "$T/r2" --quiet
expect_fail "unknown flag --frobnicate" "$G" train --frobnicate 3
expect_fail "unknown flag --bogus" "$G" eval "$CK" --bogus
expect_fail "unknown command" "$G" fly
expect_fail "unknown subcommand" "$G" data frobnicate
expect_fail "unknown dataset" "$G" data fetch nosuch

# --- non-numeric and out-of-range values
expect_fail "--lr: .*abc" "$G" train --lr abc
expect_fail "--epochs: .*0" "$G" train --epochs 0
expect_fail "--batch: .*-5" "$G" train --batch -5
expect_fail "--components: .*1.5" "$G" train --model mob --components 1.5
expect_fail "--lr: .*nan" "$G" train --lr nan
expect_fail "--lr: missing value" "$G" train --lr
expect_fail "--n: .*0" "$G" sample "$CK" -n 0
expect_fail "--optim: .*sgdd" "$G" train --optim sgdd --dataset "$T/train.amat" --run "$T/r3" --quiet
expect_fail "--binarize: .*maybe" "$G" train --binarize maybe --dataset "$T/train.amat" --run "$T/r3" --quiet
GENMOD_THREADS=lots expect_fail "GENMOD_THREADS" "$G" eval "$CK" --dataset "$T/test.amat"
expect_fail "--out: .*\.png.*csv|not images" "$G" sample "$CK" --out "$T/s.png"
[ -e "$T/s.png" ] && fail "partial PNG written" || pass "no partial PNG"
expect_fail "missing argument" "$G" eval
expect_fail "unexpected argument \"extra\"" "$G" eval -- "$CK" extra

# --- flags that do not apply are errors, not silently ignored
expect_fail "--train-split: only for a named dataset" "$G" train --dataset "$T/train.amat" --train-split 'train[0:10]' --run "$T/r4" --quiet
expect_fail "--valid-data: only for a file dataset" "$G" train --dataset two-moons --valid-data "$T/test.amat" --run "$T/r4" --quiet
expect_fail "--split: .*test.amat is a file" "$G" eval "$CK" --dataset "$T/test.amat" --split valid
# the checkpoint was trained on a file without --valid-data: eval must not fall back to the training file
expect_fail "trained on file .*train.amat without --valid-data" "$G" eval "$CK" --split valid
# bad validation data fails before training starts (no run directory)
printf '0 0.5 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n' >"$T/grey16.amat"
expect_fail "grey16.amat.*binary" "$G" train --dataset "$T/train.amat" --valid-data "$T/grey16.amat" --binarize none --run "$T/r5" --quiet
[ -e "$T/r5" ] && fail "run directory created before the validation data were checked" || pass "no run directory"
finish

#!/usr/bin/env bash
# cli_ar.sh — the autoregressive models through the CLI on small files:
# train / eval (--per-example, masks reported) / sample / inpainting for fvsbn,
# nade and made, and their bad input: data of the wrong dimension, grey values
# fed to a binary model, an ordering file that is not a permutation, an
# inpainting mask of the wrong size. Each bad case: one error line, exit 1-2.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/cli_common.inc"
G=$GENMOD

make_amat "$T/train.amat" 300 16 1
make_amat "$T/valid.amat" 100 16 2
make_amat "$T/test.amat" 100 16 3
make_amat "$T/d8.amat" 50 8 4
F=(--dataset "$T/train.amat" --valid-data "$T/valid.amat" --test-data "$T/test.amat" --epochs 2 --quiet --samples 4)

# --- end to end, each model
expect_ok "$G" train --model fvsbn "${F[@]}" --run "$T/fv" && pass "fvsbn trains"
expect_ok "$G" train --model nade --hidden 7 --order random "${F[@]}" --run "$T/na" && pass "nade trains"
expect_ok "$G" train --model made --hidden 12,10 --masks 3 --order random --direct 1 "${F[@]}" --run "$T/ma" && pass "made trains"
for r in fv na ma; do
    [ -s "$T/$r/best.safetensors" ] && [ -s "$T/$r/samples.csv" ] || fail "$r: checkpoint or samples missing"
done
# eval prints NLL ± stderr; made reports its masks; --per-example writes one log p per row
expect_ok "$G" eval "$T/ma/best.safetensors" --per-example "$T/pe.txt"
grep -Eq 'NLL [0-9.]+ ± [0-9.]+ nats \(100 examples, exact log-likelihood, model made, 3 masks averaged\)' "$T/out" \
    && pass "eval reports masks" || fail "eval line: $(cat "$T/out")"
[ "$(wc -l <"$T/pe.txt")" -eq 100 ] && pass "per-example rows" || fail "per-example has $(wc -l <"$T/pe.txt") lines"
MEAN=$(awk '{ s -= $1 } END { printf "%.4f", s / NR }' "$T/pe.txt")
grep -q "NLL $MEAN " "$T/out" && pass "per-example mean = reported NLL ($MEAN)" || fail "per-example mean $MEAN vs $(cat "$T/out")"
expect_ok "$G" eval "$T/na/best.safetensors" --json
grep -q '"masks"' "$T/out" && fail "nade JSON must not report masks" || pass "nade JSON without masks"
# same seed, same samples
expect_ok "$G" sample "$T/na/best.safetensors" --n 5 --seed 3 --out "$T/s1.csv"
expect_ok "$G" sample "$T/na/best.safetensors" --n 5 --seed 3 --out "$T/s2.csv"
cmp -s "$T/s1.csv" "$T/s2.csv" && pass "seeded sampling reproduces" || fail "same seed, different samples"
# inpainting with a mask file that observes the first 6 dims (natural order)
printf '1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0\n' >"$T/mask.txt"
expect_ok "$G" sample "$T/fv/best.safetensors" --observe "$T/mask.txt" --n 3 --completions 2 --from "$T/test.amat" --out "$T/inp.csv" \
    && pass "inpainting runs"
[ "$(wc -l <"$T/inp.csv")" -ge 12 ] && pass "inpainting grid rows" || fail "inpainting wrote $(wc -l <"$T/inp.csv") lines"

# --- bad input
expect_fail "d8.amat.*8 values.*16" "$G" eval "$T/fv/best.safetensors" --dataset "$T/d8.amat"
printf '0 0.5 1 0 1 0 1 0 1 0 1 0 1 0 1 0\n' >"$T/grey.amat"
expect_fail "grey.amat.*(binary|0/1|0 or 1)" "$G" eval "$T/na/best.safetensors" --dataset "$T/grey.amat"
printf '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 14\n' >"$T/dup.txt"
expect_fail "dup.txt.*14 appears twice.*permutation" "$G" train --model nade --order "$T/dup.txt" "${F[@]}" --run "$T/b1"
printf '0 1 2 3\n' >"$T/short.txt"
expect_fail "short.txt has 4 entries.*16" "$G" train --model made --order "$T/short.txt" "${F[@]}" --run "$T/b2"
printf '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 16\n' >"$T/oob.txt"
expect_fail "oob.txt.*16.*outside 0..15" "$G" train --model fvsbn --order "$T/oob.txt" "${F[@]}" --run "$T/b3"
expect_fail "--order: .*nope.txt" "$G" train --model fvsbn --order "$T/nope.txt" "${F[@]}" --run "$T/b4"
printf '1 1 1 0\n' >"$T/mask4.txt"
expect_fail "mask4.txt: the mask has 4 values.*16" "$G" sample "$T/fv/best.safetensors" --observe "$T/mask4.txt" --from "$T/test.amat"
printf '1 2 1 0 1 1 1 1 1 1 1 1 1 1 1 1\n' >"$T/mask2.txt"
expect_fail "mask2.txt.*0 or 1" "$G" sample "$T/fv/best.safetensors" --observe "$T/mask2.txt" --from "$T/test.amat"
expect_fail "top-half.*not images" "$G" sample "$T/fv/best.safetensors" --observe top-half --from "$T/test.amat"
expect_fail "d8.amat.*8 values.*16" "$G" sample "$T/fv/best.safetensors" --observe first-half --from "$T/d8.amat"
# random-order made: the first half is not first in any mask set's ordering
expect_fail "made: the observed dimensions do not come first" "$G" sample "$T/ma/best.safetensors" --observe first-half --from "$T/test.amat"
expect_fail "--hidden: expected" "$G" train --model made --hidden 10,x "${F[@]}" --run "$T/b5"
expect_fail "--hidden: .*too many" "$G" train --model made --hidden 1000000,1000000 "${F[@]}" --run "$T/b6"
finish

#!/usr/bin/env bash
# cli_train.sh — end-to-end CLI: train/eval/sample/info on small generated
# data; --resume reproduces an uninterrupted run bit for bit; NaN stops
# training with the step named and the last good checkpoint kept.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/cli_common.inc"

make_amat "$T/train.amat" 600 16 1
make_amat "$T/valid.amat" 200 16 2
make_amat "$T/test.amat" 200 16 3
COMMON=(--dataset "$T/train.amat" --valid-data "$T/valid.amat" --test-data "$T/test.amat" --batch 50 --quiet)

# 1. a full run: files, test NLL line, metrics
expect_ok "$GENMOD" train --model mob --components 4 --epochs 3 --lr 0.05 --run "$T/a" "${COMMON[@]}" &&
    grep -Eq '^test NLL [0-9.]+ ± [0-9.]+ nats \(200 examples' "$T/out" && pass "train prints test NLL" ||
    fail "train output: $(cat "$T/out")"
for f in config.json metrics.jsonl best.safetensors last.safetensors state.gmts samples.csv; do
    [ -s "$T/a/$f" ] && pass "run dir has $f" || fail "run dir lacks $f"
done
[ "$(grep -c '"kind":"epoch"' "$T/a/metrics.jsonl")" -eq 3 ] && pass "3 epoch records" || fail "metrics: $(cat "$T/a/metrics.jsonl")"
grep -q '"kind":"test"' "$T/a/metrics.jsonl" && pass "test record" || fail "no test record in metrics"
[ "$(wc -l <"$T/a/samples.csv")" -eq 64 ] && pass "64 samples" || fail "samples.csv rows"

# 2. eval agrees with the number train printed; per-example file has one line per row
want=$(sed -E 's/^test NLL ([0-9.]+).*/\1/' "$T/out")
expect_ok "$GENMOD" eval "$T/a/best.safetensors" --dataset "$T/test.amat" --per-example "$T/pe.txt"
got=$(sed -E 's/.*NLL ([0-9.]+).*/\1/' "$T/out")
[ "$want" = "$got" ] && pass "eval NLL $got == train's" || fail "eval NLL $got != train's $want"
[ "$(wc -l <"$T/pe.txt")" -eq 200 ] && pass "per-example rows" || fail "per-example rows $(wc -l <"$T/pe.txt")"
awk -v g="$got" '{ s -= $1 } END { d = s / NR - g; exit !(d < 1e-3 && d > -1e-3) }' "$T/pe.txt" &&
    pass "per-example mean matches" || fail "per-example mean differs from $got"

# 3. sampling is seeded
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 5 --out "$T/s1.csv"
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 5 --out "$T/s2.csv"
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 6 --out "$T/s3.csv"
cmp -s "$T/s1.csv" "$T/s2.csv" && pass "same seed, same samples" || fail "same seed gave different samples"
cmp -s "$T/s1.csv" "$T/s3.csv" && fail "different seeds gave identical samples" || pass "different seed, different samples"

# 4. info validates and lists tensors
expect_ok "$GENMOD" info "$T/a/best.safetensors" && grep -q "model mob" "$T/out" && grep -q "logits" "$T/out" &&
    pass "info on checkpoint" || fail "info output: $(cat "$T/out")"
expect_ok "$GENMOD" info "$T/a/state.gmts" && grep -q "training state" "$T/out" && pass "info on state" || fail "info state"

# 5. --resume == uninterrupted (stop mid-epoch 2 at step 17; 12 steps per epoch)
expect_ok "$GENMOD" train --model mob --components 4 --epochs 3 --lr 0.05 --run "$T/b" --max-steps 17 "${COMMON[@]}"
[ -e "$T/b/samples.csv" ] && fail "interrupted run wrote samples" || pass "interrupted run stops before final eval"
expect_ok "$GENMOD" train --resume --run "$T/b" --max-steps 0
cmp -s "$T/a/last.safetensors" "$T/b/last.safetensors" && pass "resumed last checkpoint identical" ||
    fail "resumed run differs from the uninterrupted one"
cmp -s "$T/a/best.safetensors" "$T/b/best.safetensors" && pass "resumed best checkpoint identical" || fail "best differs"
expect_fail "--components: cannot change when resuming" "$GENMOD" train --resume --run "$T/b" --components 5
expect_fail "nonexistent-run-dir/(config.json|state.gmts)" "$GENMOD" train --resume --run "$T/nonexistent-run-dir"

# 6. same seed, same numbers (fresh run again)
expect_ok "$GENMOD" train --model mob --components 4 --epochs 3 --lr 0.05 --run "$T/c" "${COMMON[@]}"
cmp -s "$T/a/best.safetensors" "$T/c/best.safetensors" && pass "same seed reproduces the run" || fail "same seed, different run"

# 7. NaN/Inf: training stops naming the step; debug mode names the op; last good checkpoint kept
cp "$T/a/last.safetensors" "$T/ref_last.safetensors"
expect_fail "step 20 .*NaN|step 20 .*non-finite" "$GENMOD" train --model mob --components 4 --epochs 3 --lr 0.05 --run "$T/d" \
    --debug-nan-at 20 "${COMMON[@]}"
grep -q "kept the last good checkpoint" "$T/err" && pass "names the kept checkpoint" || fail "no kept-checkpoint note"
expect_ok "$GENMOD" eval "$T/d/last.safetensors" --dataset "$T/test.amat" && pass "kept checkpoint loads" ||
    fail "kept checkpoint unusable"
expect_fail "first non-finite op: [a-z_]+" "$GENMOD" train --model mob --components 4 --epochs 3 --run "$T/e" \
    --debug-nan-at 3 --debug "${COMMON[@]}"

# 8. help for every command
for c in train eval sample info data models; do
    "$GENMOD" "$c" --help >"$T/out" 2>&1 && grep -q "usage: genmod $c" "$T/out" && pass "$c --help" || fail "$c --help"
done
"$GENMOD" train --model mob --help | grep -q -- "--components" && pass "model flags in help" || fail "model flags missing in help"
finish

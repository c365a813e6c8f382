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
# without --dataset, a checkpoint trained on files is evaluated on its --test-data file, not the training file
expect_ok "$GENMOD" eval "$T/a/best.safetensors"
grep -q "^test.amat NLL $want " "$T/out" && pass "eval defaults to the run's test file" || fail "eval default: $(cat "$T/out")"
expect_ok "$GENMOD" eval "$T/a/best.safetensors" --split valid
grep -q "^valid.amat NLL" "$T/out" && pass "eval --split valid uses --valid-data" || fail "eval --split valid: $(cat "$T/out")"
awk -v g="$got" '{ s -= $1 } END { d = s / NR - g; exit !(d < 1e-3 && d > -1e-3) }' "$T/pe.txt" &&
    pass "per-example mean matches" || fail "per-example mean differs from $got"

expect_ok "$GENMOD" eval "$T/a/best.safetensors" --dataset "$T/test.amat" --json &&
    grep -Eq '^\{"model":"mob","data":"test.amat","n":200,"nll":[0-9.]+,"nll_stderr":[0-9.]+,"logp":"exact"\}$' "$T/out" &&
    pass "eval --json" || fail "eval --json: $(cat "$T/out")"

# 3. sampling is seeded
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 5 --out "$T/s1.csv"
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 5 --out "$T/s2.csv"
expect_ok "$GENMOD" sample "$T/a/best.safetensors" -n 10 --seed 6 --out "$T/s3.csv"
cmp -s "$T/s1.csv" "$T/s2.csv" && pass "same seed, same samples" || fail "same seed gave different samples"
cmp -s "$T/s1.csv" "$T/s3.csv" && fail "different seeds gave identical samples" || pass "different seed, different samples"

# outputs honour the umask like any other file (atomic writes must not force a mode)
(umask 077 && "$GENMOD" sample "$T/a/best.safetensors" -n 2 --out "$T/private.csv") &&
    [ "$(stat -c %a "$T/private.csv")" = 600 ] && pass "umask 077 respected" || fail "umask not respected: $(stat -c %a "$T/private.csv")"
(umask 022 && "$GENMOD" sample "$T/a/best.safetensors" -n 2 --out "$T/public.csv") &&
    [ "$(stat -c %a "$T/public.csv")" = 644 ] && pass "umask 022 respected" || fail "umask 022 gave $(stat -c %a "$T/public.csv")"

# 4. info validates and lists tensors
expect_ok "$GENMOD" info "$T/a/best.safetensors" && grep -q "model mob" "$T/out" && grep -q "logits" "$T/out" &&
    pass "info on checkpoint" || fail "info output: $(cat "$T/out")"
expect_ok "$GENMOD" info "$T/a/state.gmts" && grep -q "training state" "$T/out" && pass "info on state" || fail "info state"

# 5. --resume == uninterrupted (stop mid-epoch 2 at step 17; 12 steps per epoch)
expect_ok "$GENMOD" train --model mob --components 4 --epochs 3 --lr 0.05 --run "$T/b" --max-steps 17 "${COMMON[@]}"
[ -e "$T/b/samples.csv" ] && fail "interrupted run wrote samples" || pass "interrupted run stops before final eval"
expect_ok "$GENMOD" train --resume --run "$T/b" --max-steps 17
grep -q "already at step 17" "$T/err" && pass "resume at --max-steps takes no step" || fail "resume at --max-steps: $(cat "$T/err")"
expect_ok "$GENMOD" train --resume --run "$T/b" --max-steps 0
cmp -s "$T/a/last.safetensors" "$T/b/last.safetensors" && pass "resumed last checkpoint identical" ||
    fail "resumed run differs from the uninterrupted one"
cmp -s "$T/a/best.safetensors" "$T/b/best.safetensors" && pass "resumed best checkpoint identical" || fail "best differs"
expect_fail "--components: cannot change when resuming" "$GENMOD" train --resume --run "$T/b" --components 5
expect_fail "nonexistent-run-dir/(config.json|state.gmts)" "$GENMOD" train --resume --run "$T/nonexistent-run-dir"

# 5b. resume exactness with EMA, a cosine schedule with warmup, clipping and dynamic binarization,
# interrupted exactly at an epoch boundary (step 12) and mid-epoch (step 25); metrics agree too
awk '{ for (i = 1; i <= NF; i++) $i = ($i == 1 ? 0.8 : 0.3); print }' "$T/train.amat" >"$T/grey.amat"
X=(--model mob --components 4 --epochs 3 --lr 0.05 --ema 0.9 --schedule cosine --warmup 5 --clip 1 --binarize dynamic
   --dataset "$T/grey.amat" --valid-data "$T/valid.amat" --batch 50 --quiet)
expect_ok "$GENMOD" train "${X[@]}" --run "$T/x1"
expect_ok "$GENMOD" train "${X[@]}" --run "$T/x2" --max-steps 12
expect_ok "$GENMOD" train --resume --run "$T/x2" --max-steps 25 --quiet
expect_ok "$GENMOD" train --resume --run "$T/x2" --quiet
cmp -s "$T/x1/last.safetensors" "$T/x2/last.safetensors" && cmp -s "$T/x1/best.safetensors" "$T/x2/best.safetensors" &&
    pass "EMA/cosine/dynamic resume identical" || fail "EMA/cosine/dynamic resume differs"
cmp -s <(grep '"kind":"epoch"' "$T/x1/metrics.jsonl" | sed 's/"seconds".*//') \
    <(grep '"kind":"epoch"' "$T/x2/metrics.jsonl" | sed 's/"seconds".*//') &&
    pass "resumed epoch metrics identical" || fail "resumed epoch metrics differ"

# 5c. a run that stopped early stays stopped on --resume (e.g. when its final evaluation was interrupted)
expect_ok "$GENMOD" train --model mob --components 4 --epochs 50 --lr 0.5 --patience 1 --run "$T/es" "${COMMON[@]}"
n1=$(grep -c '"kind":"epoch"' "$T/es/metrics.jsonl")
[ "$n1" -lt 50 ] && pass "early stop after $n1 epochs" || fail "no early stop in 50 epochs"
expect_ok "$GENMOD" train --resume --run "$T/es" --quiet
n2=$(grep -c '"kind":"epoch"' "$T/es/metrics.jsonl")
[ "$n1" -eq "$n2" ] && pass "resumed early-stopped run trains no further" || fail "resumed early-stopped run trained $((n2 - n1)) more epochs"

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

#!/usr/bin/env bash
# cli_flows.sh — the flow models through the CLI: flow2d on a small 2-D CSV
# (train, eval in nats, density plot, temperature), realnvp on small generated
# 8-bit 8x8 images (bits/dim with the number of dequantization draws, --draws,
# encode / decode / interpolation), and the bad input: data outside [0, 1],
# an image that cannot be squeezed, a corrupted (singular) 1x1 convolution in
# a checkpoint, a temperature <= 0, a NaN during training (step and, with
# --debug, the layer named). Each bad case: one error line, exit 1-2.
# Fashion-MNIST (the Debian package dataset-fashion-mnist) is only read for
# the 28x28 squeeze check; real-image round trips are in tests/test_flows.c.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/cli_common.inc"
G=$GENMOD

# --- flow2d on 2-D points
awk 'BEGIN { srand(7); for (i = 0; i < 400; i++) { a = rand() * 6.283; r = 2 + 0.2 * rand();
      printf "%.5f,%.5f\n", r * cos(a), r * sin(a) } }' >"$T/ring.csv"
head -n 300 "$T/ring.csv" >"$T/tr.csv"; tail -n 100 "$T/ring.csv" >"$T/te.csv"
F2=(--dataset "$T/tr.csv" --valid-data "$T/te.csv" --test-data "$T/te.csv" --epochs 2 --quiet --hidden 16 --layers 4)
expect_ok "$G" train --model flow2d "${F2[@]}" --actnorm 1 --mix lu --run "$T/f2" && pass "flow2d trains"
[ -s "$T/f2/density.png" ] && pass "flow2d writes density.png" || fail "density.png missing"
expect_ok "$G" eval "$T/f2/best.safetensors"
grep -Eq 'NLL -?[0-9.]+ ± [0-9.]+ nats \(100 examples' "$T/out" && ! grep -q bits/dim "$T/out" \
    && pass "2-D eval in nats, no bits/dim" || fail "eval line: $(cat "$T/out")"
expect_ok "$G" sample "$T/f2/best.safetensors" --out "$T/plot.png" --n 500 && pass "2-D sample plot"
expect_ok "$G" sample "$T/f2/best.safetensors" --out "$T/s07.csv" --n 300 --temperature 0.5
expect_ok "$G" sample "$T/f2/best.safetensors" --out "$T/s10.csv" --n 300
SPREAD() { awk -F, '{ s += $1 * $1 + $2 * $2 } END { printf "%.4f", s / NR }' "$1"; }
awk -v a="$(SPREAD "$T/s07.csv")" -v b="$(SPREAD "$T/s10.csv")" 'BEGIN { exit !(a < b) }' \
    && pass "temperature 0.5 shrinks the samples" || fail "temperature: spread $(SPREAD "$T/s07.csv") vs $(SPREAD "$T/s10.csv")"
expect_fail "--temperature: must be > 0" "$G" sample "$T/f2/best.safetensors" --out "$T/x.csv" --temperature 0
expect_fail "--temperature: must be > 0" "$G" sample "$T/f2/best.safetensors" --out "$T/x.csv" --temperature -1
# a NaN during training: the step is named; with --debug also the layer
expect_fail "stopped at step 3.*loss is NaN" "$G" train --model flow2d "${F2[@]}" --debug-nan-at 3 --run "$T/n1"
expect_fail "stopped at step 3.*flow layer 0 \(coupling\)" "$G" train --model flow2d "${F2[@]}" --debug-nan-at 3 --debug --run "$T/n2"

# --- realnvp on small 8-bit 8x8 images (.npy uint8; real images: tests/test_flows.c)
make_npy_u8() { # FILE N H W SEED: N random 8-bit HxW "images" (blobs plus noise) as .npy uint8
    local f=$1 n=$2 h=$3 w=$4 s=$5
    local hdr="{'descr': '|u1', 'fortran_order': False, 'shape': ($n, $h, $w), }"
    local len=$(( ${#hdr} + 1 )); local total=$(( 10 + len )); local pad=$(( (64 - total % 64) % 64 ))
    hdr="$hdr$(printf '%*s' $pad '')"
    len=$(( ${#hdr} + 1 ))
    { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $((len % 256)))\\x$(printf %02x $((len / 256)))"; printf '%s\n' "$hdr";
      LC_ALL=C awk -v n="$n" -v h="$h" -v w="$w" -v s="$s" 'BEGIN { srand(s); for (i = 0; i < n; i++) { cy = rand() * h; cx = rand() * w;
          for (y = 0; y < h; y++) for (x = 0; x < w; x++) { d = (y - cy) ^ 2 + (x - cx) ^ 2; v = 255 * exp(-d / 6) + 20 * rand();
          v = int(v); if (v > 255) v = 255; printf "%c", v } } }'; } >"$f"
}
make_npy_u8 "$T/img_tr.npy" 200 8 8 1
make_npy_u8 "$T/img_te.npy" 100 8 8 2
FM=(--dataset "$T/img_tr.npy" --valid-data "$T/img_te.npy" --test-data "$T/img_te.npy" --epochs 1 --quiet --samples 4)
expect_ok "$G" train --model realnvp --features 4 --blocks 0 --scales 2 --inv1x1 plain "${FM[@]}" --run "$T/rn" && pass "realnvp trains"
grep -Eq 'test NLL -?[0-9.]+ ± [0-9.]+ nats = [0-9.]+ ± [0-9.]+ bits/dim \(100 examples.*1 dequantization draw per image' "$T/out" \
    && pass "train reports bits/dim" || fail "train test line: $(cat "$T/out")"
expect_ok "$G" eval "$T/rn/best.safetensors" --draws 3 --json
grep -q '"draws":3' "$T/out" && grep -q '"bpd":' "$T/out" && pass "eval --draws 3 in JSON" || fail "eval JSON: $(cat "$T/out")"
expect_ok "$G" encode "$T/rn/best.safetensors" --n 4 --out "$T/z.csv" && pass "encode"
[ "$(wc -l <"$T/z.csv")" -eq 4 ] && [ "$(head -1 "$T/z.csv" | tr ',' '\n' | wc -l)" -eq 64 ] \
    && pass "4 latents of 64 values" || fail "z.csv shape"
expect_ok "$G" decode "$T/rn/best.safetensors" --in "$T/z.csv" --out "$T/dec.png" && pass "decode to PNG"
expect_ok "$G" decode "$T/rn/best.safetensors" --in "$T/z.csv" --out "$T/interp.png" --interpolate 5 && pass "interpolate"
make_amat "$T/bin.amat" 50 8 1
expect_ok "$G" train --model bernoulli --dataset "$T/bin.amat" --epochs 1 --quiet --run "$T/be"
expect_fail "model 'bernoulli' is not invertible" "$G" encode "$T/be/best.safetensors" --dataset "$T/bin.amat" --out "$T/zz.csv"

# --- bad input
printf '0.1,0.2\n1.5,0.3\n' >"$T/bad.csv"
expect_fail "bad.csv: row 1 column 0 has value 1.5.*\[0, 1\]" "$G" train --model nice --hidden 4 --depth 1 --dataset "$T/bad.csv" --epochs 1 --quiet --run "$T/b1"
expect_fail "--scales 5: a 8x8 image cannot be squeezed 4 times.*divisible by 16" "$G" train --model realnvp --scales 5 "${FM[@]}" --run "$T/b2"
expect_fail "--scales 4: a 28x28 image cannot be squeezed 3 times.*divisible by 8" "$G" train --model realnvp --scales 4 --dataset fashion-mnist --epochs 1 --quiet --run "$T/b2b"
expect_fail "realnvp needs image data" "$G" train --model realnvp --dataset "$T/tr.csv" --epochs 1 --quiet --run "$T/b3"
# corrupt the first 1x1 convolution weight of the realnvp checkpoint: all zeros (singular)
CK="$T/rn/best.safetensors"
cp "$CK" "$T/bad.safetensors"
HL=$(od -An -t u8 -N8 "$CK" | tr -d ' ')
W=$(head -c $((8 + HL)) "$CK" | tail -c "$HL" | grep -o '"layer[0-9]*\.weight":{[^}]*}' | head -1)
OFF=$(echo "$W" | sed -E 's/.*"data_offsets":\[([0-9]+),([0-9]+)\].*/\1 \2/')
set -- $OFF
if [ -n "${1:-}" ]; then
    dd if=/dev/zero of="$T/bad.safetensors" bs=1 seek=$((8 + HL + $1)) count=$(($2 - $1)) conv=notrunc 2>/dev/null
    expect_fail "bad.safetensors: layer [0-9]+ \(invertible 1x1 convolution\).*singular" "$G" sample "$T/bad.safetensors" --out "$T/x.png"
    expect_fail "bad.safetensors.*singular" "$G" eval "$T/bad.safetensors"
else
    fail "no 1x1 convolution weight found in $CK"
fi
finish

#!/usr/bin/env bash
# demo.sh — the main job behind `make demo`: train a MADE (one hidden layer of
# 500 ReLU units plus a direct input-output connection, natural pixel order) on binarized MNIST (fixed 50k/10k/10k
# binarization) for a few minutes, print its exact test NLL, and write a
# sample grid and an inpainting grid (bottom halves completed from top halves).
# If binarized MNIST is neither on the search path
# nor downloadable, says so and uses Fashion-MNIST from the Debian package,
# binarized once with a fixed seed.
set -euo pipefail
G=${GENMOD:-build/genmod}
RUN=${RUN:-runs/demo}
EPOCHS=${EPOCHS:-20}
if [ -z "${GENMOD_DATA:-}" ] && [ -d ../shared/data ]; then export GENMOD_DATA=$(cd ../shared/data && pwd); fi
DATASET=binarized-mnist
if ! "$G" data path binarized-mnist >/dev/null 2>&1; then
    echo "demo: binarized MNIST not found on the search path ($("$G" data path | sed 's/search path: //')); trying to download it" >&2
    if ! "$G" data fetch binarized-mnist; then
        echo "demo: binarized MNIST could not be downloaded; using Fashion-MNIST (Debian package dataset-fashion-mnist), binarized with a fixed seed" >&2
        scripts/install-deps.sh dataset-fashion-mnist
        DATASET=fashion-mnist
    fi
fi
rm -rf "$RUN"
"$G" train --model made --hidden 500 --direct 1 --dataset "$DATASET" --binarize fixed --binarize-seed 0 \
    --epochs "$EPOCHS" --lr 1e-3 --batch 100 --seed 1 --run "$RUN"
"$G" sample "$RUN/best.safetensors" --observe top-half --n 8 --completions 4 --out "$RUN/inpaint.png"
echo "demo: samples in $RUN/samples.png, top-half completions in $RUN/inpaint.png, metrics in $RUN/metrics.jsonl, checkpoint $RUN/best.safetensors"

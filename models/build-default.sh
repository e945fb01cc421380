#!/usr/bin/env bash
# Rebuilds the default model, models/default.isof, from generated data with fixed seeds:
# 10,000 rows x 5 features with a linear trend and 500 spikes per feature (data seed 42), then a
# 100-tree isolation forest with scikit-learn's defaults (forest seed 7).
#
#   models/build-default.sh [OUT_DIR]     (default: models/)
#
# The two trainer command lines below are also read by training/tests/default_model.rs, which
# reruns them and checks the result is byte-identical to the committed models/default.isof.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-models}")
mkdir -p "$OUT"
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

cargo run --release --locked --quiet -p trainer -- generate --rows 10000 --features 5 --anomalies 500 --trend linear --seed 42 --out "$DATA/train.csv" --labels "$DATA/train-labels.csv"
cargo run --release --locked --quiet -p trainer -- train "$DATA/train.csv" --out "$OUT/default.isof" --detector iforest --trees 100 --max-samples auto --contamination auto --seed 7

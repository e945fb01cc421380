#!/usr/bin/env bash
# Forest speed, side by side: our forest and the extended-isolation-forest crate (criterion bench
# forest/benches/scoring.rs) and scikit-learn's IsolationForest (in a virtualenv), all on one core.
# Rewrites the forest section of docs/benchmarks.md. Honours CARGO_TARGET_DIR (criterion results
# are read from there).
#
#   scripts/bench-forest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh

# One core, one thread everywhere: the comparison is per core.
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

step "criterion: forest vs extended-isolation-forest"
cargo bench -p forest --bench scoring --no-run
taskset -c 0 cargo bench -p forest --bench scoring -- --noplot

step "scikit-learn"
bin=$(ensure_venv forest-bench scikit-learn numpy)
sk_json=$(mktemp)
trap 'rm -f "$sk_json"' EXIT
taskset -c 0 "$bin/python" scripts/bench-forest/sklearn_bench.py >"$sk_json"
cat "$sk_json"

step "docs/benchmarks.md"
python3 scripts/bench-forest/write_doc.py "$PWD" "$sk_json"

#!/usr/bin/env bash
# Forest speed, side by side: every walk kernel this CPU runs (criterion bench
# forest/benches/scoring.rs, with the extended-isolation-forest crate) and scikit-learn's
# IsolationForest (in a virtualenv), all on one core, in ROUNDS interleaved rounds (default 3) so
# that each ratio compares figures taken minutes apart at most. Then the fit, the rate at which the
# CPU gathers nodes at all, and a million rows on one and two threads. Rewrites the forest section
# of docs/benchmarks.md. Honours CARGO_TARGET_DIR (criterion results are read from there).
#
#   scripts/bench-forest.sh            # ROUNDS=5 scripts/bench-forest.sh for more rounds
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh

# One core, one thread everywhere: the comparison is per core.
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
rounds=${ROUNDS:-3}
criterion="${CARGO_TARGET_DIR:-$PWD/target}/criterion"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "build"
cargo bench -p forest --bench scoring --no-run
bin=$(ensure_venv forest-bench scikit-learn numpy)

for round in $(seq "$rounds"); do
    step "round $round of $rounds: criterion (every kernel, EIF, gather bound), then scikit-learn"
    # Stale results of a kernel this CPU lacks must not be read back as this run's.
    rm -rf "$criterion/score" "$criterion/one_row" "$criterion/gather_bound"
    taskset -c 0 cargo bench -p forest --bench scoring -- --noplot 'score|one_row|gather_bound'
    taskset -c 0 "$bin/python" scripts/bench-forest/sklearn_bench.py >"$work/sklearn.json"
    cat "$work/sklearn.json"
    python3 scripts/bench-forest/write_doc.py collect "$criterion" "$work/sklearn.json" >>"$work/rounds.jsonl"
done

step "fit, one core"
taskset -c 0 cargo bench -p forest --bench scoring -- --noplot '^fit'
taskset -c 0 "$bin/python" scripts/bench-forest/sklearn_bench.py --fit >"$work/fit.json"

step "a million rows on one and two threads"
taskset -c 0,1 cargo bench -p forest --bench scoring -- --noplot '^parallel'

step "docs/benchmarks.md"
python3 scripts/bench-forest/write_doc.py write "$PWD" "$criterion" "$work/rounds.jsonl" "$work/fit.json"

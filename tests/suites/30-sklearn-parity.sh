#!/usr/bin/env bash
# scikit-learn import parity, live: fit IsolationForests with scikit-learn, export them with
# training/sklearn_export.py, import them with `trainer import-sklearn`, score with `trainer score`
# and require score_samples and decision_function within 1e-12 of scikit-learn's and identical
# predict, on the generator's data and on random data with NaNs and extreme values, for
# contamination auto and 0.05, with and without bootstrap, and once with max_features < 1.
# Then the user's path: a model fitted as the Python guide does, served by the release isoserve,
# queried with curl as JSON records; the answers must match scikit-learn's.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/common.sh

step "Python tools (scikit-learn, joblib)"
venv=$(ensure_venv quality scikit-learn joblib numpy pandas rdata)
ensure_apt curl
step "release binaries: trainer, isoserve"
build_bins
trainer=$(release_bin trainer)
isoserve=$(release_bin isoserve)
start=$SECONDS

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
parity() { (cd training && PYTHONWARNINGS=ignore "$venv/python" -m odds.parity "$@"); }
export_model() { PYTHONWARNINGS=ignore "$venv/python" training/sklearn_export.py "$@"; }

step "data: generator (train and test seeds differ) and random data with NaNs and extremes"
"$trainer" generate --quiet --rows 4000 --features 5 --anomalies 100 --seed 7 \
  --out "$work/gen.csv" --labels "$work/gen.labels.csv"
"$trainer" generate --quiet --rows 2000 --features 5 --anomalies 50 --seed 8 --timestamp \
  --out "$work/gen-test.csv" --labels "$work/gen-test.labels.csv"
parity random "$work/rand.csv" --rows 3000 --features 6 --seed 1
parity random "$work/rand-test.csv" --rows 2000 --features 6 --seed 2 --beyond-float32

# case NAME TRAIN TEST FIT-FLAGS...: fit, export, import, score TEST and threshold-edge rows.
case_n=0
check_case() {
  local name=$1 train=$2 test=$3; shift 3
  local dir="$work/$name"
  mkdir -p "$dir"
  case_n=$((case_n + 1))
  step "case $case_n: $name ($*)"
  parity fit "$train" -o "$dir/model.joblib" "$@"
  export_model "$dir/model.joblib" -o "$dir/model.json"
  parity check-json "$dir/model.joblib" "$dir/model.json" "$test"
  "$trainer" import-sklearn "$dir/model.json" -o "$dir/model.isof"
  parity edges "$dir/model.joblib" "$test" "$dir/edges.csv"
  for data in "$test" "$dir/edges.csv"; do
    echo "  scoring $(basename "$data")"
    "$trainer" score --quiet "$dir/model.isof" "$data" -o "$dir/scores.csv"
    parity compare "$dir/model.joblib" "$data" "$dir/scores.csv" || {
      echo "FAIL: $name: our scores differ from scikit-learn's on $(basename "$data")" >&2
      exit 1
    }
  done
}

check_case gen-auto "$work/gen.csv" "$work/gen-test.csv" --contamination auto
check_case gen-0.05-bootstrap "$work/gen.csv" "$work/gen-test.csv" --contamination 0.05 --bootstrap
check_case random-auto-bootstrap "$work/rand.csv" "$work/rand-test.csv" --numpy --contamination auto --bootstrap
check_case random-0.05 "$work/rand.csv" "$work/rand-test.csv" --numpy --contamination 0.05
check_case random-max-features-0.5 "$work/rand.csv" "$work/rand-test.csv" --numpy --max-features 0.5 --contamination 0.1

step "bad input is refused with a precise message"
# expect_failure PATTERN CMD...: CMD must exit non-zero and say PATTERN on stderr.
expect_failure() {
  local pattern=$1; shift
  if "$@" 2>"$work/err.txt" >/dev/null; then
    echo "FAIL: expected an error from: $*" >&2; exit 1
  fi
  grep -q -- "$pattern" "$work/err.txt" || {
    echo "FAIL: error of '$*' does not mention '$pattern':" >&2; cat "$work/err.txt" >&2; exit 1
  }
  echo "  refused ($(head -c 160 "$work/err.txt" | tr '\n' ' '))"
}
"$venv/python" -c 'import joblib, sys; joblib.dump({"not": "a model"}, sys.argv[1])' "$work/dict.joblib"
expect_failure "expected a fitted IsolationForest" export_model "$work/dict.joblib" -o "$work/x.json"
# Values beyond float32's range become infinities in scikit-learn and NaN thresholds in the trees.
parity fit "$work/rand-test.csv" -o "$work/inf.joblib" --numpy
expect_failure "beyond float32" export_model "$work/inf.joblib" -o "$work/x.json"
sed 's/"format":"sklearn-isolation-forest"/"format":"something-else"/' "$work/gen-auto/model.json" >"$work/bad.json"
expect_failure "format" "$trainer" import-sklearn "$work/bad.json" -o "$work/x.isof"
head -c 5000 "$work/gen-auto/model.json" >"$work/cut.json"
expect_failure "cut.json" "$trainer" import-sklearn "$work/cut.json" -o "$work/x.isof"
cut -d, -f1-3 "$work/gen-test.csv" >"$work/narrow.csv"
expect_failure "no column \"feature_3\"" "$trainer" score "$work/gen-auto/model.isof" "$work/narrow.csv"

step "the user's path: fit as the Python guide does, export, import, serve, curl"
dir="$work/guide"
mkdir -p "$dir"
(cd "$dir" && PYTHONWARNINGS=ignore "$venv/python" - "$work/gen.csv") <<'PY'
# What the Python guide does: pandas in, IsolationForest at its defaults, joblib out.
import sys
import joblib
import pandas as pd
from sklearn.ensemble import IsolationForest

df = pd.read_csv(sys.argv[1])
model = IsolationForest(contamination="auto", random_state=42)
model.fit(df[[c for c in df.columns if c.startswith("feature_")]])
joblib.dump(model, "isolation_forest.joblib")
PY
export_model "$dir/isolation_forest.joblib" -o "$dir/model.json"
"$trainer" import-sklearn "$dir/model.json" -o "$dir/model.isof"

port=$("$venv/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$isoserve" --bind 127.0.0.1 --port "$port" --model "$dir/model.isof" >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log" >&2; echo "FAIL: isoserve exited" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/ping" >/dev/null || { echo "FAIL: isoserve not ready" >&2; exit 1; }

head -n 501 "$work/gen-test.csv" >"$dir/rows.csv"
parity records "$dir/rows.csv" "$dir/rows.json"
curl -sS --fail-with-body -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -H 'X-Amzn-SageMaker-Custom-Attributes: format=native' \
  --data-binary "@$dir/rows.json" "http://127.0.0.1:$port/invocations" -o "$dir/native.json"
# The Python container's client as it is: no custom attributes, no server setting. The imported
# model says its clients expect scikit-learn's answers, so they get {"predictions": [1, -1, ...]}.
curl -sS --fail-with-body -H 'Content-Type: application/json' -H 'Accept: application/json' \
  --data-binary "@$dir/rows.json" "http://127.0.0.1:$port/invocations" -o "$dir/sklearn.json"
parity served "$dir/isolation_forest.joblib" "$dir/rows.csv" "$dir/native.json" "$dir/sklearn.json" || {
  echo "FAIL: the served model answers differently from scikit-learn" >&2
  exit 1
}
echo "sklearn parity: $case_n import cases and the served path agree with scikit-learn" \
  "($((SECONDS - start)) s after the build)"

#!/usr/bin/env bash
# The inference server as the README runs it: the release binary from the repository root serving
# the default model (discovered as models/default.isof), then the README's curl commands as a user
# types them, then SIGTERM and a clean exit. Loopback only (--bind 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/common.sh

ensure_apt curl python3
build_bins
BIN=$(release_bin isoserve)
LOG=$(mktemp)
trap 'kill "$PID" 2>/dev/null || true; rm -f "$LOG"' EXIT

step "start: isoserve serve (default model)"
"$BIN" serve --bind 127.0.0.1 >"$LOG" &
PID=$!
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' localhost:8080/ping)" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s localhost:8080/ping -o /dev/null -w '%{http_code}\n')" = 200 ]
grep -q '"path":"models/default.isof"' "$LOG"

# Asserts a JSON answer with python: EXPR is evaluated with `a` bound to the parsed body.
check() {
  python3 -c "import json, sys; a = json.load(sys.stdin); assert $1, a" || {
    echo "unexpected answer for: $2" >&2
    exit 1
  }
}

step "README: CSV"
curl -s localhost:8080/invocations -H 'Content-Type: text/csv' --data-binary $'49.0,68.1,65.6,74.6,96.1\n250,-80,300,-150,400\n' |
  check '[p["anomaly"] for p in a["predictions"]] == [False, True] and 0 < a["predictions"][0]["score"] < a["predictions"][1]["score"] <= 1' csv

step "README: JSON records (the Python container's clients)"
curl -s localhost:8080/invocations -H 'Content-Type: application/json' -d '[{"feature_1": 49.0, "feature_2": 68.1, "feature_3": 65.6, "feature_4": 74.6, "feature_5": 96.1}, {"feature_1": 250, "feature_2": -80, "feature_3": 300, "feature_4": -150, "feature_5": 400}]' |
  check '[p["anomaly"] for p in a["predictions"]] == [False, True]' json

step "README: Random Cut Forest clients (format=rcf)"
curl -s localhost:8080/invocations -H 'Content-Type: text/csv' -H 'X-Amzn-SageMaker-Custom-Attributes: format=rcf' --data-binary $'49.0,68.1,65.6,74.6,96.1\n' |
  check 'list(a) == ["scores"] and list(a["scores"][0]) == ["score"]' rcf

step "README: CSV answer"
answer=$(curl -s localhost:8080/invocations -H 'Content-Type: text/csv' -H 'Accept: text/csv' --data-binary $'49.0,68.1,65.6,74.6,96.1\n250,-80,300,-150,400\n')
[ "$(printf '%s\n' "$answer" | cut -d, -f2 | tr '\n' ' ')" = "false true " ]

step "README: a bad row is a 400 naming row and column"
body=$(curl -s -w ' %{http_code}' localhost:8080/invocations -H 'Content-Type: text/csv' --data-binary $'49.0,68.1,abc,74.6,96.1\n')
[ "$body" = '{"error":"bad_request","message":"row 1, feature_3: \"abc\" is not a number"} 400' ]

step "SIGTERM: clean exit"
kill -TERM "$PID"
wait "$PID"
echo "server exited 0"

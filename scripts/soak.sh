#!/usr/bin/env bash
# Soak test: the release isoserve at saturation for MINUTES (default 10) with mixed valid and
# invalid traffic of every format, 1 to 10,000 rows per request (scripts/soak/payloads.py), drawn
# at random by wrk (scripts/soak/mixed.lua), which checks every answer's status against the
# expected one. The load runs in 10-second rounds; every second the server's resident memory and
# open file descriptors are sampled from /proc.
#
#   scripts/soak.sh [MINUTES]        (fractions allowed: 1 for the suite's short version)
#
# Passes when: every request of the mix gets exactly its expected status before and after the load
# (scripts/soak/check.py); no socket errors, timeouts or 5xx under load; after the warm-up
# resident memory and descriptors grow by under 10 %; and no round's p99 exceeds 3x the median
# round's p99. The warm-up is the first fifth of the run (at least 20 s). The allocator reaches its
# high-water mark for the largest bodies over the first minutes (a ten-minute run: 47 MiB after one
# minute, 52-57 MiB from the second to the tenth), so a run shorter than five minutes treats its
# first half as warm-up and allows 50 %: at about 1,500 requests/s that still fails a leak of half
# a KiB per request, while the ten-minute run (docs/reliability.md) shows the flatness. Prints one line per round and a
# summary table (also written to .tools/soak/summary.md) with the command that produced it.
#
# Settings (environment): SOAK_CONNECTIONS (8; one wrk thread each, so answers are matched to
# requests), SOAK_PORT (18400).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh

MINUTES=${1:-10}
CONNECTIONS=${SOAK_CONNECTIONS:-8}
PORT=${SOAK_PORT:-18400}
ROUND=10
WORK="$TOOLS/soak"
rm -rf "$WORK" && mkdir -p "$WORK"
rounds=$(python3 -c "import math; print(max(2, math.ceil(float('$MINUTES') * 60 / $ROUND)))")

step "tools and binaries"
ensure_apt wrk
build_bins
python3 scripts/soak/payloads.py "$WORK/payloads"

step "start isoserve on 127.0.0.1:$PORT"
"$(release_bin isoserve)" --bind 127.0.0.1 --port "$PORT" --model models/default.isof >"$WORK/server.log" 2>&1 &
server=$!
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/ping" || { cat "$WORK/server.log"; exit 1; }

# One line a second: seconds since start, resident KiB, open descriptors.
(
  start=$(date +%s)
  while kill -0 "$server" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || echo 0)
    fds=$(find "/proc/$server/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "$(( $(date +%s) - start )) $rss $fds"
    sleep 1
  done
) >"$WORK/samples.txt" &
sampler=$!

step "every request once, before the load"
python3 scripts/soak/check.py "$WORK/payloads" "http://127.0.0.1:$PORT/invocations"

step "load: $rounds rounds of ${ROUND} s, $CONNECTIONS connections"
for round in $(seq "$rounds"); do
  SOAK_DIR="$WORK/payloads" wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${ROUND}s" --timeout 10s \
    -s scripts/soak/mixed.lua "http://127.0.0.1:$PORT/invocations" >"$WORK/round-$round.txt" 2>&1
  grep '^SOAK ' "$WORK/round-$round.txt" | sed "s/^SOAK /{\"round\":$round,\"r\":/; s/\$/}/" >>"$WORK/rounds.jsonl" \
    || { cat "$WORK/round-$round.txt"; exit 1; }
done
kill "$sampler" 2>/dev/null || true
sampler=""

step "every request once, after the load"
python3 scripts/soak/check.py "$WORK/payloads" "http://127.0.0.1:$PORT/invocations"

step "verdict"
python3 - "$WORK" "$MINUTES" "$CONNECTIONS" <<'PY'
import json, statistics, sys
work, minutes, connections = sys.argv[1], sys.argv[2], sys.argv[3]
rounds = [json.loads(l) for l in open(f"{work}/rounds.jsonl")]
samples = [tuple(map(int, l.split())) for l in open(f"{work}/samples.txt") if len(l.split()) == 3]
total = lambda k: sum(r["r"][k] for r in rounds)
for r in rounds:
    x = r["r"]
    print(f"round {r['round']:>3}: {x['requests'] / (x['duration_us'] / 1e6):8.0f} req/s, "
          f"p50 {x['p50_us'] / 1000:6.2f} ms, p99 {x['p99_us'] / 1000:7.2f} ms, "
          f"2xx {x['ok']}, 4xx {x['refused']}, "
          f"5xx {x['server_errors']}, socket errors {x['socket_errors']}, timeouts {x['timeouts']}")
short = float(minutes) < 5
warm = max(samples[0][0] + 20, samples[-1][0] // (2 if short else 5))
max_growth = 0.50 if short else 0.10
after = [s for s in samples if s[0] >= warm]
base, end = after[: max(1, len(after) // 5)], after[-max(1, len(after) // 5):]
rss_growth = max(s[1] for s in end) / statistics.median(s[1] for s in base) - 1
fd_growth = max(s[2] for s in end) / statistics.median(s[2] for s in base) - 1
p99s = [r["r"]["p99_us"] for r in rounds[1:]]
p99_median = statistics.median(p99s)
p99_worst = max(p99s) / p99_median
checks = [
    ("socket errors and timeouts", total("socket_errors") + total("timeouts"), "0", total("socket_errors") + total("timeouts") == 0),
    ("5xx answers", total("server_errors"), "0", total("server_errors") == 0),
    ("RSS growth after warm-up", f"{rss_growth:+.1%} ({statistics.median(s[1] for s in base) / 1024:.1f} -> {max(s[1] for s in end) / 1024:.1f} MiB)", f"< {max_growth:.0%}", rss_growth < max_growth),
    ("open descriptors growth after warm-up", f"{fd_growth:+.1%} ({statistics.median(s[2] for s in base):.0f} -> {max(s[2] for s in end)})", f"< {max_growth:.0%}", fd_growth < max_growth),
    ("worst round p99 / median round p99", f"{p99_worst:.2f} (median p99 {p99_median / 1000:.2f} ms)", "< 3", p99_worst < 3),
]
lines = [
    f"`scripts/soak.sh {minutes}`: {len(rounds)} rounds of 10 s, {connections} connections, "
    f"{total('requests')} requests ({total('ok')} scored, {total('refused')} refused with a 4xx), "
    f"{total('requests') / sum(r['r']['duration_us'] for r in rounds) * 1e6:.0f} req/s",
    "",
    "| check | measured | required | |",
    "|---|---|---|---|",
] + [f"| {name} | {value} | {want} | {'ok' if good else 'FAIL'} |" for name, value, want, good in checks]
open(f"{work}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if all(c[3] for c in checks) else 1)
PY

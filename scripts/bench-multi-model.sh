#!/usr/bin/env bash
# Multi-model benchmark: one isoserve in SageMaker multi-model mode with 1,000 per-device models
# (100 trees, psi = 256, 5 features: what `trainer train --group-by` writes for a fleet), against
# the same server serving one of those models alone, in the same run. Measures the training of the
# fleet, each model's load latency (POST /models), the memory the models hold, and the invoke
# throughput and tail (wrk, a random model per request) next to /invocations on one model; rewrites
# the multi-model section of docs/benchmarks.md.
#
#   scripts/bench-multi-model.sh
#
# Settings (environment): BENCH_MODELS (1000), BENCH_DURATION seconds per cell (5),
# BENCH_CONNECTIONS (8), BENCH_PIN=0 to run unpinned (by default the server is pinned to CPU 0 and
# the clients to CPU 1).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh

MODELS=${BENCH_MODELS:-1000}
DURATION=${BENCH_DURATION:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
PIN=${BENCH_PIN:-1}
MULTI_PORT=18070 SINGLE_PORT=18071
WORK="$TOOLS/bench-multi-model"
rm -rf "$WORK" && mkdir -p "$WORK"
server_cpu=() load_cpu=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
fi

step "tools: wrk, curl"
ensure_apt wrk curl
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  step "build (release)"
  cargo build --release --locked -p isoserve -p trainer
fi
TRAINER=$(release_bin trainer) ISOSERVE=$(release_bin isoserve)

PIDS=()
stop() { local pid; for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap stop EXIT
wait_ready() {
  for _ in $(seq 1 300); do curl -fs -o /dev/null "http://127.0.0.1:$1/ping" && return 0; sleep 0.1; done
  echo "server on port $1 not ready" >&2; return 1
}

step "fleet data: $MODELS devices x 300 rows x 5 features; one model per device"
python3 - "$WORK/fleet.csv" "$MODELS" <<'PY'
import random, sys
rng = random.Random(1)
with open(sys.argv[1], "w") as f:
    f.write("device," + ",".join("feature_%d" % i for i in range(1, 6)) + "\n")
    for d in range(int(sys.argv[2])):
        level = [rng.uniform(0, 100) for _ in range(5)]
        for _ in range(300):
            f.write("dev-%04d,%s\n" % (d, ",".join("%.4f" % (v + rng.gauss(0, 1)) for v in level)))
PY
head -2 "$WORK/fleet.csv" | tail -1 | cut -d, -f2- >"$WORK/row.csv"
started=$(date +%s%N)
"$TRAINER" -q train "$WORK/fleet.csv" --group-by device --trees 100 --seed 7 --out "$WORK/models" >/dev/null
train_ms=$((($(date +%s%N) - started) / 1000000))
echo "trained $MODELS models in $train_ms ms"

step "load $MODELS models into a multi-model server (each POST /models timed)"
RUST_LOG=warn "${server_cpu[@]}" "$ISOSERVE" serve --bind 127.0.0.1 --port $MULTI_PORT --multi-model \
  --model-memory-mb 8192 &
PIDS+=($!)
MULTI_PID=$!
wait_ready $MULTI_PORT
"${load_cpu[@]}" python3 - "$WORK/models" "$MODELS" $MULTI_PORT "$WORK/loads.json" <<'PY'
import http.client, json, sys, time
models, n, port, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port)
times = []
for d in range(n):
    body = json.dumps({"model_name": "dev-%04d" % d, "url": "%s/dev-%04d.isof" % (models, d)})
    t = time.perf_counter()
    conn.request("POST", "/models", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    times.append(time.perf_counter() - t)
    assert r.status == 200, (d, r.status)
times.sort()
json.dump({"p50_ms": 1e3 * times[len(times) // 2], "p99_ms": 1e3 * times[int(0.99 * (len(times) - 1))],
           "max_ms": 1e3 * times[-1], "total_s": sum(times)}, open(out, "w"))
PY
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$MULTI_PID/status")
file_kb=$(du -sk "$WORK/models" | cut -f1)
cat "$WORK/loads.json"; echo "  server RSS with $MODELS models: $rss_kb KiB (model files: $file_kb KiB)"

step "one of them alone on /invocations"
RUST_LOG=warn "${server_cpu[@]}" "$ISOSERVE" serve --bind 127.0.0.1 --port $SINGLE_PORT \
  --model "$WORK/models/dev-0000.isof" &
PIDS+=($!)
wait_ready $SINGLE_PORT

# cell NAME PORT SCRIPT PATH: one wrk run of $DURATION s after a 1 s warm-up; a BENCH line to results.
: >"$WORK/cells.jsonl"
cell() {
  local name=$1 port=$2 script=$3 path=$4 line
  for d in 1 "$DURATION"; do
    line=$(BODY_FILE="$WORK/row.csv" CONTENT_TYPE=text/csv POST_LUA=scripts/bench-http/post.lua MODELS=$MODELS \
      "${load_cpu[@]}" wrk -t1 -c"$CONNECTIONS" -d"${d}s" --timeout 10s --latency -s "$script" \
      "http://127.0.0.1:$port$path" | sed -n 's/^BENCH //p')
  done
  echo "{\"cell\": \"$name\", \"bench\": $line}" >>"$WORK/cells.jsonl"
  echo "  $name: $line"
}
step "invoke: 1 CSV row, $CONNECTIONS connections, $DURATION s per cell, two rounds"
for _ in 1 2; do
  cell "multi-model, random model of $MODELS" $MULTI_PORT scripts/bench-multi-model/invoke.lua /
  cell "single model, /invocations" $SINGLE_PORT scripts/bench-http/post.lua /invocations
done

step "report"
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
pinning="unpinned"
[ ${#server_cpu[@]} -gt 0 ] && pinning="server pinned to CPU 0, clients (wrk, the loader) to CPU 1"
python3 - docs/benchmarks.md "$WORK" "$MODELS" "$train_ms" "$rss_kb" "$file_kb" "$cpu" "$pinning" "$CONNECTIONS" "$DURATION" "$(git rev-parse --short HEAD)" <<'PY'
import datetime, json, statistics, sys
doc, work, n, train_ms, rss_kb, file_kb, cpu, pinning, conns, duration, commit = sys.argv[1:]
loads = json.load(open(work + "/loads.json"))
cells = [json.loads(l) for l in open(work + "/cells.jsonl")]
def summary(name):
    runs = [c["bench"] for c in cells if c["cell"].startswith(name)]
    rate = statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in runs)
    p50 = statistics.median(r["p50_us"] for r in runs) / 1e3
    p99 = statistics.median(r["p99_us"] for r in runs) / 1e3
    errors = sum(r["non2xx"] + r["socket_errors"] for r in runs)
    return rate, p50, p99, errors
multi, single = summary("multi-model"), summary("single model")
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
section = f"""<!-- multi-model:begin -->
## Multi-model: 1,000 models behind one server

`scripts/bench-multi-model.sh` on {date} (commit {commit}), 2 × {cpu}, {pinning}. {n} per-device
models (`trainer train --group-by device`: 100 trees, ψ = 256, 5 features, 300 rows per device),
loaded one after another into `isoserve --multi-model` with `POST /models`, then invoked with one
CSV row per request on a random model of the {n} (wrk, {conns} connections, {duration} s per cell,
median of two rounds), side by side with the same server serving one of those models alone on
`/invocations`.

| what | figure |
|---|---:|
| training the {n} models (`--group-by`, both cores) | {int(train_ms) / 1000:.1f} s |
| load latency per model, p50 / p99 / max | {loads['p50_ms']:.2f} / {loads['p99_ms']:.2f} / {loads['max_ms']:.2f} ms |
| server RSS with {n} models loaded (model files on disk: {int(file_kb) / 1024:.0f} MiB) | {int(rss_kb) / 1024:.0f} MiB |

| invoke, 1 row | requests/s | p50 | p99 | errors |
|---|---:|---:|---:|---:|
| multi-model, a random model of {n} per request | {multi[0]:,.0f} | {multi[1]:.2f} ms | {multi[2]:.2f} ms | {multi[3]} |
| single model, `/invocations` | {single[0]:,.0f} | {single[1]:.2f} ms | {single[2]:.2f} ms | {single[3]} |

Ratio multi-model / single model: {multi[0] / single[0]:.2f} of the throughput. The lookup of a
model by name is a map access under a lock held only for it; what remains of the difference is the
cache: a random model of {n} is rarely in the CPU's caches, one model always is. The in-process
and real-socket tests (`tests/server/multi_model.rs`,
`socket.rs::a_thousand_models_load_invoke_and_unload_over_the_socket`) prove the behaviour; this
measures it.
<!-- multi-model:end -->"""
text = open(doc).read()
begin, end = "<!-- multi-model:begin -->", "<!-- multi-model:end -->"
if begin in text:
    text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
else:
    text = text.replace("<!-- explain-cost:begin -->", section + "\n\n<!-- explain-cost:begin -->", 1)
open(doc, "w").write(text)
print(section)
PY

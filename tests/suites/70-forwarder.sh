#!/usr/bin/env bash
# End to end: the trainer's test CSV -> produce -> Kinesis (kinesis-mock) -> standalone forwarder
# -> SageMaker Runtime stand-in -> the real isoserve -> alerts on SNS (read back through an SQS
# queue subscribed to the topic), every result in S3, undecodable records in an SQS dead-letter
# queue (moto). While it runs: a shard split, injected endpoint faults and a kill -9 of the
# forwarder. Then the Lambda bootstrap against a Runtime API emulator; the fault matrix
# (tests/forwarder/fault_matrix.py: 5xx storm, throttling, slow answers, poison records,
# resharding, kill -9, each alone and together, standalone and in Lambda). Last, trend-context mode:
# two interleaved series (partition keys) on a trend-aware model, scored by the forwarder with
# --trend-context set to the model's trend window. Then one model per device: 50 devices' models
# (trainer train --group-by) behind a multi-model isoserve, the forwarder sending each record to
# its device's model (--target-model-from partition-key).
#
# Checks: every row scored at least once; the alerted rows are exactly the rows the model flags
# when the CSV is scored directly; the garbage records (and only they) are dead-lettered; the
# closed parent shard is drained; SIGTERM exits cleanly with checkpoints; Lambda reports
# batchItemFailures on an outage and none when healthy; in trend-context mode each key's reported
# rows are its series in stream order and their scores equal the server's over the whole series;
# with one model per device, every row is scored by its own device's model (a row normal for
# another device is alerted), and a device without a model is parked in the dead-letter queue.
set -euo pipefail
# shellcheck source=tests/common.sh
source "$(dirname "$0")/../common.sh"
cd "$ROOT"

HERE="$ROOT/tests/forwarder"
WORK="$TOOLS/forwarder-e2e"
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$WORK"/*.log; do echo "--- $f"; tail -n 30 "$f"; done >&2; exit 1; }
wait_http() { # URL [tries]
  for _ in $(seq "${2:-150}"); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done
  fail "nothing answers at $1"
}

MOTO_PORT=18150 KINESIS_PORT=18168 KINESIS_TLS_PORT=18167 SERVER_PORT=18180 STANDIN_PORT=18190 LAMBDA_PORT=18199
TREND_SERVER_PORT=18181 TREND_STANDIN_PORT=18191 FLEET_SERVER_PORT=18182 FLEET_STANDIN_PORT=18192
export MOTO_URL=http://127.0.0.1:$MOTO_PORT KINESIS_URL=http://127.0.0.1:$KINESIS_PORT
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_ENDPOINT_URL=$MOTO_URL AWS_ENDPOINT_URL_KINESIS=$KINESIS_URL
export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:$STANDIN_PORT S3_PATH_STYLE=true

step "install: moto (pip), kinesis-mock (npm)"
VENV=$(ensure_venv moto 'moto[server]==5.2.5' 'boto3')
NODE_DIR="$TOOLS/forwarder-node"
mkdir -p "$NODE_DIR"
if [ ! -f "$NODE_DIR/node_modules/kinesis-local/main.js" ]; then
  command -v npm >/dev/null || ensure_apt nodejs npm
  cp "$HERE/package.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
PY="$VENV/python"

step "build"
build_bins
BIN="$ROOT/target/release"

step "start moto, kinesis-mock, isoserve, the SageMaker stand-in"
"$VENV/moto_server" -H 127.0.0.1 -p $MOTO_PORT >"$WORK/moto.log" 2>&1 & PIDS+=($!)
KINESIS_MOCK_PLAIN_PORT=$KINESIS_PORT KINESIS_MOCK_TLS_PORT=$KINESIS_TLS_PORT \
KINESIS_MOCK_CERT_PATH="$NODE_DIR/node_modules/kinesis-local/server.json" \
CREATE_STREAM_DURATION=100ms SPLIT_SHARD_DURATION=100ms MERGE_SHARDS_DURATION=100ms \
UPDATE_SHARD_COUNT_DURATION=100ms AWS_ACCOUNT_ID=123456789012 LOG_LEVEL=WARN \
  node -r "$HERE/loopback-only.cjs" "$NODE_DIR/node_modules/kinesis-local/main.js" >"$WORK/kinesis.log" 2>&1 & PIDS+=($!)
"$BIN/isoserve" --bind 127.0.0.1 --port $SERVER_PORT --model models/default.isof >"$WORK/isoserve.log" 2>&1 & PIDS+=($!)
python3 "$HERE/sagemaker_standin.py" --port $STANDIN_PORT --upstream http://127.0.0.1:$SERVER_PORT >"$WORK/standin.log" 2>&1 & PIDS+=($!)
wait_http "$MOTO_URL/moto-api/"
wait_http "$KINESIS_URL/healthcheck"
wait_http "http://127.0.0.1:$SERVER_PORT/ping"
wait_http "http://127.0.0.1:$STANDIN_PORT/_standin/stats"
faults() { curl -sf -X POST "http://127.0.0.1:$STANDIN_PORT/_standin/faults" -d "$1" >/dev/null; }

step "test data: trainer generate (seed 1234, not the default model's 42) and the model's verdicts"
"$BIN/trainer" generate --rows 1500 --features 5 --anomalies 40 --seed 1234 --out "$WORK/test.csv" --labels "$WORK/labels.csv" >/dev/null
N=$(($(wc -l <"$WORK/test.csv") - 1))
FEATURES=$(head -1 "$WORK/test.csv" | tr -d '\r')
# What the model flags, straight from the server: row i of the CSV is partition key i.
curl -sf -X POST -H 'Content-Type: text/csv' -H 'Accept: application/jsonlines' --data-binary @"$WORK/test.csv" \
  "http://127.0.0.1:$SERVER_PORT/invocations" >"$WORK/direct.jsonl"
"$PY" - "$WORK/direct.jsonl" >"$WORK/expected-anomalies.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(json.dumps(sorted(str(i) for i, r in enumerate(rows) if r["anomaly"])))
EOF
echo "rows: $N, flagged by the model: $("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/expected-anomalies.json")"

step "stream with 2 shards, sinks on moto"
STREAM=sensors
"$PY" "$HERE/aws_bench.py" create-stream $STREAM 2
SINKS=$("$PY" "$HERE/aws_bench.py" setup fwd)
jget() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$SINKS" "$1"; }
TOPIC=$(jget topic) ALERTS=$(jget alerts) DLQ=$(jget dlq) BUCKET=$(jget bucket)

# These runs check that every flagged row is alerted: the alert policy is off
# (--alert-every-anomaly); the policy itself is tested in forwarder/src/sinks/policy/tests.rs.
# Each row is explained (--explain 2): alerts say why, results carry the explanation.
start_forwarder() {
  "$BIN/forwarder" --stream $STREAM --endpoint-name iso-endpoint --feature-names "$FEATURES" --alert-every-anomaly \
    --explain 2 \
    --sns-topic-arn "$TOPIC" --dlq-url "$DLQ" --results-bucket "$BUCKET" \
    --checkpoint-file "$WORK/checkpoint.json" --idle-wait-ms 300 --discovery-interval-secs 1 \
    --max-rows 200 --base-delay-ms 20 --max-delay-ms 500 --invoke-timeout-secs 2 \
    --metrics-namespace E2E/Forwarder --metrics-dimensions Stream=$STREAM,Env=test \
    >>"$WORK/emf.out" 2>>"$WORK/forwarder.log" &
  FWD=$!
  PIDS+=("$FWD")
}
scored_count() { "$PY" "$HERE/aws_bench.py" scored "$BUCKET" | "$PY" -c 'import json,sys; print(sum(1 for k in json.load(sys.stdin) if not k.startswith("garbage")))'; }

step "produce the first half, with undecodable records among them"
# The first request meets a container 4xx (the forwarder must split it and score everything),
# then throttling, 503s, ModelNotReady, a slow answer past the 2 s timeout; afterwards 10 % of
# the requests fail transiently at random.
faults '{"script": [{"kind": "model4xx"}, {"kind": "throttle"}, {"kind": "unavailable"}, {"kind": "not_ready"},
         {"kind": "delay", "ms": 2500}, {"kind": "model5xx"}, {"kind": "internal"}],
         "rate": 0.1, "kinds": ["throttle", "unavailable", "not_ready", "model5xx", "delay"], "seed": 3}'
HALF=$((N / 2))
head -n $((HALF + 1)) "$WORK/test.csv" >"$WORK/first.csv"
"$BIN/produce" --stream $STREAM --file "$WORK/first.csv" --batch-size 100 --rate 0 --partition-key row >"$WORK/produce1.log"
cat "$WORK/produce1.log"
grep -q "produced $HALF rows" "$WORK/produce1.log" || fail "produce did not write $HALF rows"
"$PY" "$HERE/aws_bench.py" put-garbage $STREAM 3

step "forwarder: start, kill -9 mid-stream, restart"
start_forwarder
for _ in $(seq 150); do
  c=$(scored_count); [ "$c" -ge 100 ] && break; sleep 0.2
done
[ "$c" -ge 100 ] || fail "the forwarder scored nothing within 30 s"
kill -9 $FWD; wait $FWD 2>/dev/null || true
echo "killed the forwarder after $c scored rows"
[ -s "$WORK/checkpoint.json" ] || fail "no checkpoint file after processing"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/checkpoint.json" || fail "checkpoint file is not valid JSON"
start_forwarder

step "split a shard while consuming, produce the second half into the children"
PARENT=$("$PY" "$HERE/aws_bench.py" split $STREAM)
echo "split $PARENT"
# Rows keep their CSV index as partition key: produce the second half with row numbers offset.
"$PY" - "$WORK/test.csv" "$HALF" "$WORK/second.csv" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
half = int(sys.argv[2])
with open(sys.argv[3], "w") as f:
    f.write("row," + lines[0] + "\n")
    for i, line in enumerate(lines[1 + half:], start=half):
        f.write("%d,%s\n" % (i, line))
EOF
# The data must not carry the row column: produce JSON records keyed by name (the forwarder
# ignores unknown keys) with the row number as partition key.
"$BIN/produce" --stream $STREAM --file "$WORK/second.csv" --batch-size 50 --rate 0 \
  --partition-key column:row --format json >"$WORK/produce2.log"
cat "$WORK/produce2.log"

step "wait until every row is scored"
for _ in $(seq 300); do
  c=$(scored_count); [ "$c" -ge "$N" ] && break; sleep 0.5
done
echo "scored $c of $N rows"
[ "$c" -eq "$N" ] || fail "only $c of $N rows were scored"

step "SIGTERM: finish the batch, checkpoint, exit 0"
kill -TERM $FWD
for _ in $(seq 100); do kill -0 $FWD 2>/dev/null || break; sleep 0.1; done
kill -0 $FWD 2>/dev/null && fail "the forwarder did not stop within 10 s of SIGTERM"
wait $FWD || fail "the forwarder exited non-zero after SIGTERM"

step "verify alerts, dead letters, checkpoints, metrics"
"$PY" "$HERE/aws_bench.py" drain-alerts "$ALERTS" >"$WORK/alerts.jsonl"
"$PY" "$HERE/aws_bench.py" drain-dlq "$DLQ" >"$WORK/dlq.jsonl"
"$PY" "$HERE/aws_bench.py" shards $STREAM >"$WORK/shards.json"
curl -sf "http://127.0.0.1:$STANDIN_PORT/_standin/stats" >"$WORK/standin-stats.json"
"$PY" "$HERE/aws_bench.py" results "$BUCKET" >"$WORK/results.jsonl"
"$PY" - "$WORK" "$PARENT" <<'EOF' || fail "verification failed"
import json, re, sys
work, parent = sys.argv[1], sys.argv[2]
expected = set(json.load(open(work + "/expected-anomalies.json")))
alerts = [json.loads(l) for l in open(work + "/alerts.jsonl")]
alerted = {a["partition_key"] for a in alerts}
assert alerted == expected, "alerted %d rows, the model flags %d; missing %s, extra %s" % (
    len(alerted), len(expected), sorted(expected - alerted)[:10], sorted(alerted - expected)[:10])
names = ["feature_%d" % i for i in range(1, 6)]
said = re.compile(r"^feature_[1-5] = -?[0-9.]+, expected about -?[0-9.]+ \([0-9]+ % of the score\)")
for a in alerts:
    assert a["anomaly"] is True and a["score"] > 0 and len(a["values"]) == 5, a
    assert a["shard_id"].startswith("shardId-") and a["sequence_number"], a
    # Explained by the server: the top 2 features, the row's own values, said in plain words.
    top = a["explanation"]
    assert len(top) == 2 and top[0]["attribution"] >= top[1]["attribution"], a
    for t in top:
        assert t["value"] == a["values"][names.index(t["feature"])], a
        assert t["direction"] == ("high" if t["value"] > t["expected"] else "low"), a
    assert said.match(a["why"]) and a["why"].startswith(top[0]["feature"] + " = "), a["why"]
results = [json.loads(l) for l in open(work + "/results.jsonl")]
assert results and all(len(r["explanation"]) == 2 for r in results), results[:2]
dead = [json.loads(l) for l in open(work + "/dlq.jsonl")]
assert sorted(d["partition_key"] for d in dead) == ["garbage-0", "garbage-1", "garbage-2"] or \
    {d["partition_key"] for d in dead} == {"garbage-0", "garbage-1", "garbage-2"}, dead
for d in dead:
    assert "undecodable record" in d["reason"] and d["sequence_number"], d
cp = json.load(open(work + "/checkpoint.json"))
shards = json.load(open(work + "/shards.json"))
children = [s["ShardId"] for s in shards if s.get("ParentShardId") == parent]
assert len(children) == 2, shards
assert cp["shards"][parent]["finished"], cp
assert any(cp["shards"].get(c, {}).get("sequence_number") for c in children), cp
emf = [json.loads(l) for l in open(work + "/emf.out") if l.strip()]
assert emf, "no EMF lines"
meta = emf[0]["_aws"]["CloudWatchMetrics"][0]
assert meta["Namespace"] == "E2E/Forwarder" and meta["Dimensions"] == [["Stream", "Env"]], meta
assert sum(e["Records"] for e in emf) >= 1503 and sum(e["DecodeErrors"] for e in emf) >= 3
assert any("EndpointLatency" in e for e in emf) and any("IteratorAge" in e for e in emf)
assert sum(e["Errors"] for e in emf) > 0, "injected faults must show in the Errors metric"
stats = json.load(open(work + "/standin-stats.json"))
assert sum(stats["faults"].values()) >= 7, stats
print("alerts: %d rows (%d alert entries), dead letters: %d, EMF lines: %d, injected faults: %s" % (
    len(alerted), len(alerts), len(dead), len(emf), stats["faults"]))
print("an explained alert: " + alerts[0]["why"])
EOF
grep -q "shard closed and drained" "$WORK/forwarder.log" || fail "the parent shard was never drained"

step "Lambda: the bootstrap binary against a Runtime API emulator, with a real Kinesis event"
make_event() { # FIRST COUNT OUT
  "$PY" - "$WORK/test.csv" "$1" "$2" "$3" <<'EOF'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()[1:]
first, count = int(sys.argv[2]), int(sys.argv[3])
recs = []
for i in range(first, first + count):
    seq = "4959%052d" % i
    recs.append({"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(i), "sequenceNumber": seq,
                 "data": base64.b64encode(lines[i].encode()).decode(), "approximateArrivalTimestamp": 1763780000.5},
                 "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000000:" + seq,
                 "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda",
                 "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/sensors"})
json.dump({"Records": recs}, open(sys.argv[4], "w"))
EOF
}
run_lambda() { # EVENT OUT [STREAM_NAME, or - to leave it unset]
  python3 "$HERE/lambda_runtime_api.py" --port $LAMBDA_PORT --event "$1" >"$2" & local api=$!
  wait_http "http://127.0.0.1:$LAMBDA_PORT/"
  local stream=(STREAM_NAME="${3:-sensors}")
  [ "${3:-}" = - ] && stream=()
  env "${stream[@]}" \
  AWS_LAMBDA_RUNTIME_API=127.0.0.1:$LAMBDA_PORT AWS_LAMBDA_FUNCTION_NAME=forwarder AWS_LAMBDA_FUNCTION_VERSION=1 \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 AWS_LAMBDA_LOG_STREAM_NAME=test AWS_LAMBDA_LOG_GROUP_NAME=test \
  ENDPOINT_NAME=iso-endpoint FEATURE_NAMES="$FEATURES" SNS_TOPIC_ARN="$TOPIC" ALERT_EVERY_ANOMALY=true \
  MAX_ROWS_PER_REQUEST=10 CONCURRENCY=1 MAX_ATTEMPTS=2 BASE_DELAY_MS=10 \
    "$BIN/bootstrap" >>"$WORK/lambda-emf.out" 2>>"$WORK/lambda.log" & local fn=$!
  wait $api || { kill $fn 2>/dev/null || true; fail "the Lambda function gave no response: $(cat "$2")"; }
  kill $fn 2>/dev/null || true
  wait $fn 2>/dev/null || true
}
faults '{"script": [], "rate": 0}'
make_event 0 40 "$WORK/event-ok.json"
run_lambda "$WORK/event-ok.json" "$WORK/lambda-ok.json"
# Requests hold 10 rows. The first (records 100-109) is throttled once, then answered (a 1 ms
# delay passes through); the second (110-119) meets 503 on both attempts.
faults '{"script": [{"kind": "throttle"}, {"kind": "delay", "ms": 1}, {"kind": "unavailable"}, {"kind": "unavailable"}]}'
make_event 100 40 "$WORK/event-outage.json"
run_lambda "$WORK/event-outage.json" "$WORK/lambda-outage.json"
"$PY" - "$WORK" <<'EOF' || fail "Lambda responses are wrong"
import json, sys
work = sys.argv[1]
ok = json.load(open(work + "/lambda-ok.json"))
assert ok["response"] == {"batchItemFailures": []}, ok
outage = json.load(open(work + "/lambda-outage.json"))
# Request 1 (records 100-109): throttled once, then succeeds; request 2 (110-119): 503 twice.
assert outage["response"] == {"batchItemFailures": [{"itemIdentifier": "4959%052d" % 110}]}, outage
print("Lambda: healthy batch -> no failures; outage -> first unprocessed record 110")
EOF
"$PY" - "$WORK/lambda.log" <<'EOF' || fail "the Lambda log is not plain JSON lines carrying the request id"
import json, sys
raw = open(sys.argv[1], "rb").read()
assert b"\x1b[" not in raw, "colour codes in the Lambda log (CloudWatch shows them as garbage)"
lines = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
inside = [l for l in lines if l.get("span", {}).get("name") == "invocation"]
assert inside and all(l["span"].get("request_id") == "req-1" for l in inside), inside[:3]
warnings = [l for l in lines if l.get("level") == "WARN"]
assert warnings and all(l in inside for l in warnings), warnings[:3]
print("Lambda log: %d JSON lines, %d inside an invocation, each with its request id" % (len(lines), len(inside)))
EOF
step "Lambda: an Amazon MSK event (two topic-partitions), alerts named by the topic"
"$PY" "$HERE/aws_bench.py" drain-alerts "$ALERTS" >/dev/null
"$PY" - "$WORK/test.csv" "$WORK/event-msk.json" <<'EOF'
import base64, json, sys
lines = open(sys.argv[1]).read().splitlines()[1:]
b64 = lambda s: base64.b64encode(s.encode()).decode()
records = {}
for part in (0, 1):
    records["plant-sensors-%d" % part] = [
        {"topic": "plant-sensors", "partition": part, "offset": 1000 + i, "timestamp": 1763780000500 + i,
         "timestampType": "CREATE_TIME", "key": b64("device-%d" % (i % 3)), "value": b64(lines[i]), "headers": []}
        for i in range(200 + 40 * part, 240 + 40 * part)]
json.dump({"eventSource": "aws:kafka", "eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/plant/abcd-1",
           "bootstrapServers": "b-1.plant.kafka.us-east-1.amazonaws.com:9092", "records": records},
          open(sys.argv[2], "w"))
EOF
faults '{"script": [], "rate": 0}'
run_lambda "$WORK/event-msk.json" "$WORK/lambda-msk.json" -
"$PY" "$HERE/aws_bench.py" alert-streams "$ALERTS" >"$WORK/msk-alert-streams.txt"
"$PY" - "$WORK" <<'EOF' || fail "the MSK event was not scored as Kafka records"
import json, sys
work = sys.argv[1]
msk = json.load(open(work + "/lambda-msk.json"))
assert msk["response"] == {"batchItemFailures": []}, msk
streams = open(work + "/msk-alert-streams.txt").read().split()
assert streams and set(streams) == {"plant-sensors"}, streams
print("MSK event: no failures; %d alert message(s), all naming topic plant-sensors" % len(streams))
EOF

step "fault matrix: each fault alone and all together, standalone and Lambda (FAULT_ROWS=${FAULT_ROWS:=300} rows each)"
# The table in docs/reliability.md comes from FAULT_ROWS=1500 (the whole test CSV).
"$PY" "$HERE/fault_matrix.py" --bin "$BIN" --csv "$WORK/test.csv" --expected "$WORK/expected-anomalies.json" \
  --standin "http://127.0.0.1:$STANDIN_PORT" --rows "$FAULT_ROWS" --work "$WORK" --table "$WORK/fault-table.md" \
  || fail "the forwarder lost, double-parked or mis-alerted records under faults"
cat "$WORK/fault-table.md"

step "trend-context mode: two interleaved series on a trend-aware model"
# Two random-walk series with spikes, one per partition key; the model is trained on a third.
"$BIN/trainer" generate --rows 2000 --features 5 --anomalies 20 --trend random_walk --seed 71 \
  --out "$WORK/trend-train.csv" --labels "$WORK/trend-train-labels.csv" >/dev/null
for s in a b; do
  seed=$([ $s = a ] && echo 72 || echo 73)
  "$BIN/trainer" generate --rows 240 --features 5 --anomalies 4 --trend random_walk --seed "$seed" \
    --out "$WORK/trend-$s.csv" --labels "$WORK/trend-$s-labels.csv" >/dev/null
  tail -n +2 "$WORK/trend-$s.csv" >"$WORK/trend-$s.rows"
done
"$BIN/trainer" train "$WORK/trend-train.csv" -o "$WORK/trend.isof" --trend rolling_median --trend-window 12 -q >/dev/null
# N = the model's trend window, as `trainer inspect` shows it.
WINDOW=$("$BIN/trainer" inspect --json "$WORK/trend.isof" | "$PY" -c '
import json, sys
def find(d):
    if isinstance(d, dict):
        if "window" in d:
            return d["window"]
        for v in d.values():
            w = find(v)
            if w is not None:
                return w
print(find(json.load(sys.stdin)["trend"]))')
[ "$WINDOW" = 12 ] || fail "trainer inspect shows trend window \"$WINDOW\", expected 12"
"$BIN/isoserve" --bind 127.0.0.1 --port $TREND_SERVER_PORT --model "$WORK/trend.isof" >"$WORK/trend-isoserve.log" 2>&1 & PIDS+=($!)
python3 "$HERE/sagemaker_standin.py" --port $TREND_STANDIN_PORT --upstream http://127.0.0.1:$TREND_SERVER_PORT >"$WORK/trend-standin.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$TREND_SERVER_PORT/ping"
wait_http "http://127.0.0.1:$TREND_STANDIN_PORT/_standin/stats"
"$PY" "$HERE/aws_bench.py" create-stream trends 1
TSINKS=$("$PY" "$HERE/aws_bench.py" setup trend)
TBUCKET=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['bucket'])" "$TSINKS")
# One PutRecord per record keeps stream order; every fifth round is one KPL record with both keys.
"$PY" "$HERE/aws_bench.py" put-series trends "sensor-a=$WORK/trend-a.rows" "sensor-b=$WORK/trend-b.rows"
# Small reads and requests: each key's series spans many batches and requests, so the context is
# carried across both; a few transient faults exercise the retries.
curl -sf -X POST "http://127.0.0.1:$TREND_STANDIN_PORT/_standin/faults" \
  -d '{"script": [{"kind": "throttle"}, {"kind": "unavailable"}], "rate": 0.05, "kinds": ["throttle", "model5xx"], "seed": 5}' >/dev/null
"$BIN/forwarder" --stream trends --endpoint-name iso-trend --feature-names "$FEATURES" \
  --sagemaker-endpoint-url http://127.0.0.1:$TREND_STANDIN_PORT --results-bucket "$TBUCKET" \
  --checkpoint-file "$WORK/trend-checkpoint.json" --idle-wait-ms 300 --records-per-read 45 \
  --max-rows 30 --trend-context "$WINDOW" --base-delay-ms 20 --max-delay-ms 200 \
  >"$WORK/trend-emf.out" 2>"$WORK/trend-forwarder.log" & TFWD=$!
PIDS+=("$TFWD")
for _ in $(seq 200); do
  n=$("$PY" "$HERE/aws_bench.py" results "$TBUCKET" | wc -l); [ "$n" -ge 480 ] && break; sleep 0.3
done
kill -TERM $TFWD; wait $TFWD || fail "the trend-mode forwarder exited non-zero after SIGTERM"
"$PY" "$HERE/aws_bench.py" results "$TBUCKET" >"$WORK/trend-results.jsonl"
curl -sf "http://127.0.0.1:$TREND_STANDIN_PORT/_standin/stats" >"$WORK/trend-standin-stats.json"
"$PY" - "$WORK" "http://127.0.0.1:$TREND_SERVER_PORT/invocations" <<'EOF' || fail "trend-context scores differ from the server's"
import json, sys, urllib.request
work, url = sys.argv[1], sys.argv[2]
rows = {}
for line in open(work + "/trend-results.jsonl"):
    r = json.loads(line)
    rows[(r["sequence_number"], r.get("sub_sequence_number"), r["row"])] = r
series = {}
for (seq, sub, row), r in sorted(rows.items(), key=lambda kv: (int(kv[0][0]), kv[0][1] or 0, kv[0][2])):
    series.setdefault(r["partition_key"], []).append(r)
assert sorted(series) == ["sensor-a", "sensor-b"], sorted(series)
for key, name in (("sensor-a", "a"), ("sensor-b", "b")):
    got = series[key]
    source = [[float(v) for v in l.split(",")] for l in open("%s/trend-%s.rows" % (work, name)) if l.strip()]
    # Every row once, in stream order, KPL sub-records included.
    assert [r["values"] for r in got] == source, "%s: the reported rows are not the series in order" % key
    body = "".join(",".join(repr(v) for v in r["values"]) + "\n" for r in got).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "text/csv", "Accept": "application/jsonlines"})
    direct = [json.loads(l) for l in urllib.request.urlopen(req).read().decode().splitlines() if l.strip()]
    assert len(direct) == len(got), (len(direct), len(got))
    bad = [(i, r["score"], d["score"]) for i, (r, d) in enumerate(zip(got, direct))
           if abs(r["score"] - d["score"]) > 1e-12 or r["anomaly"] != d["anomaly"]]
    assert not bad, "%s: %d of %d scores differ from the server's over the whole series, first %s" % (
        key, len(bad), len(got), bad[:3])
    print("%s: %d rows, %d flagged, every score equals the server's over the whole series" % (
        key, len(got), sum(r["anomaly"] for r in got)))
stats = json.load(open(work + "/trend-standin-stats.json"))
assert stats.get("with_custom_attributes", 0) >= stats["forwarded"] > 0, stats
print("trend mode: %d requests forwarded, each with context=k; faults injected: %s" % (stats["forwarded"], stats["faults"]))
EOF
step "one model per device: 50 devices behind a multi-model endpoint"
# Each device runs at its own level; the fleet's stream holds, per device, normal rows and one row
# at the level of another device: normal for the fleet, an anomaly for this device's own model.
"$PY" - "$WORK" <<'EOF'
import random, sys
work = sys.argv[1]
rng = random.Random(50)
level = lambda d: (20.0 * d, 10.0 * d + 5.0, 3.0)
def row(d):
    return [round(v + rng.gauss(0, 0.5), 4) for v in level(d)]
with open(work + "/fleet-train.csv", "w") as f:
    f.write("device,feature_1,feature_2,feature_3\n")
    for i in range(120):
        for d in range(50):
            f.write("dev-%02d,%s\n" % (d, ",".join(map(str, row(d)))))
with open(work + "/fleet-stream.csv", "w") as f:
    f.write("device,feature_1,feature_2,feature_3\n")
    for i in range(6):
        for d in range(50):
            values = row((d + 25) % 50) if i == 3 else row(d)
            f.write("dev-%02d,%s\n" % (d, ",".join(map(str, values))))
        if i % 2 == 0:
            f.write("dev-99,%s\n" % ",".join(map(str, row(7))))
EOF
"$BIN/trainer" -q train "$WORK/fleet-train.csv" --group-by device --trees 50 --seed 3 --json \
  --out "$WORK/fleet-models" >"$WORK/fleet-manifest.json"
deploy/package-model.sh --models-dir "$WORK/fleet-models" --output "$WORK/fleet-s3" 2>/dev/null
"$BIN/isoserve" --bind 127.0.0.1 --port $FLEET_SERVER_PORT --multi-model >"$WORK/fleet-isoserve.log" 2>&1 & PIDS+=($!)
python3 "$HERE/sagemaker_standin.py" --port $FLEET_STANDIN_PORT --upstream http://127.0.0.1:$FLEET_SERVER_PORT \
  --models-dir "$WORK/fleet-s3" --work-dir "$WORK/fleet-opt-ml-models" >"$WORK/fleet-standin.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$FLEET_SERVER_PORT/ping"
wait_http "http://127.0.0.1:$FLEET_STANDIN_PORT/_standin/stats"
"$PY" "$HERE/aws_bench.py" create-stream fleet 1
FSINKS=$("$PY" "$HERE/aws_bench.py" setup fleet)
fget() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$FSINKS" "$1"; }
# JSON records keyed by name carry the device too (the forwarder ignores keys it does not score);
# the partition key is the device.
"$BIN/produce" --stream fleet --file "$WORK/fleet-stream.csv" --batch-size 100 --rate 0 \
  --partition-key column:device --format json >"$WORK/fleet-produce.log"
"$BIN/forwarder" --stream fleet --endpoint-name iso-fleet --feature-names feature_1,feature_2,feature_3 \
  --sagemaker-endpoint-url http://127.0.0.1:$FLEET_STANDIN_PORT --target-model-from partition-key \
  --alert-every-anomaly --sns-topic-arn "$(fget topic)" --dlq-url "$(fget dlq)" --results-bucket "$(fget bucket)" \
  --checkpoint-file "$WORK/fleet-checkpoint.json" --idle-wait-ms 300 --max-rows 20 --concurrency 4 \
  >"$WORK/fleet-emf.out" 2>"$WORK/fleet-forwarder.log" & FFWD=$!
PIDS+=("$FFWD")
for _ in $(seq 200); do
  n=$("$PY" "$HERE/aws_bench.py" results "$(fget bucket)" | wc -l); [ "$n" -ge 300 ] && break; sleep 0.3
done
kill -TERM $FFWD; wait $FFWD || fail "the multi-model forwarder exited non-zero after SIGTERM"
"$PY" "$HERE/aws_bench.py" results "$(fget bucket)" >"$WORK/fleet-results.jsonl"
"$PY" "$HERE/aws_bench.py" drain-alerts "$(fget alerts)" >"$WORK/fleet-alerts.jsonl"
"$PY" "$HERE/aws_bench.py" drain-dlq "$(fget dlq)" >"$WORK/fleet-dlq.jsonl"
curl -sf "http://127.0.0.1:$FLEET_STANDIN_PORT/_standin/stats" >"$WORK/fleet-standin-stats.json"
"$PY" - "$WORK" "http://127.0.0.1:$FLEET_SERVER_PORT" <<'EOF' || fail "multi-model verification failed"
import json, sys, urllib.request
work, server = sys.argv[1], sys.argv[2]
manifest = json.load(open(work + "/fleet-manifest.json"))
assert [m["entity"] for m in manifest["models"]] == ["dev-%02d" % d for d in range(50)], manifest["skipped"]
results = [json.loads(l) for l in open(work + "/fleet-results.jsonl")]
by_device = {}
for r in sorted(results, key=lambda r: int(r["sequence_number"])):
    by_device.setdefault(r["partition_key"], []).append(r)
assert sorted(by_device) == ["dev-%02d" % d for d in range(50)], sorted(by_device)
def post(path, body, content_type):
    req = urllib.request.Request(server + path, data=body, headers={"Content-Type": content_type})
    return urllib.request.urlopen(req).read()
flagged = set()
for device, rows in by_device.items():
    assert len(rows) == 6, (device, len(rows))
    # The device's own model, loaded straight from the trainer's file, scores the same rows.
    name = "check-" + device
    post("/models", json.dumps({"model_name": name, "url": "%s/fleet-models/%s.isof" % (work, device)}).encode(),
         "application/json")
    body = "".join(",".join(repr(v) for v in r["values"]) + "\n" for r in rows).encode()
    direct = json.loads(post("/models/%s/invoke" % name, body, "text/csv"))["predictions"]
    got = [(r["score"], r["anomaly"]) for r in rows]
    want = [(p["score"], p["anomaly"]) for p in direct]
    assert got == want, "%s: scored by another model: %s vs %s" % (device, got, want)
    # The row at another device's level is an anomaly for this device's model.
    assert rows[3]["anomaly"], (device, rows[3])
    flagged |= {(r["sequence_number"], r["row"]) for r in rows if r["anomaly"]}
alerts = [json.loads(l) for l in open(work + "/fleet-alerts.jsonl")]
alerted = {(a["sequence_number"], a["row"]) for a in alerts}
assert alerted == flagged, "alerted %d rows, the models flag %d" % (len(alerted), len(flagged))
dead = [json.loads(l) for l in open(work + "/fleet-dlq.jsonl")]
assert len(dead) == 3 and all(d["partition_key"] == "dev-99" for d in dead), dead
assert all("no model dev-99.tar.gz" in d["reason"] for d in dead), dead[0]["reason"]
stats = json.load(open(work + "/fleet-standin-stats.json"))
assert stats["loads"] == 50, stats
emf = [json.loads(l) for l in open(work + "/fleet-emf.out") if l.startswith("{")]
assert sum(e.get("UnknownModelRecords", 0) for e in emf) == 3, "UnknownModelRecords metric"
print("multi-model: %d rows from 50 devices, each scored by its own model; %d alerts; "
      "dev-99 (no model) parked: %d records" % (len(results), len(alerts), len(dead)))
EOF

echo "forwarder suite passed"

#!/usr/bin/env bash
# The container image on a real Docker engine (started here from Debian's packages when none is
# running), built from the host's static binary with no base-image pulls:
#   - image facts: size <= 15 MB, FROM scratch (no shell), exec-form ENTRYPOINT, root, EXPOSE 8080,
#     the SageMaker bind-to-port and multi-models labels;
#   - `docker run --network host -e SAGEMAKER_BIND_TO_PORT=<port> <image> serve`: /ping 200 within
#     2 s of `docker run`, /invocations with CSV and with JSON;
#   - a model.tar.gz unpacked into a mounted /opt/ml/model replaces the baked model;
#   - with SAGEMAKER_MULTI_MODEL=true, two model.tar.gz unpacked as SageMaker's agent does are
#     loaded through POST /models, listed, and each invoked by name with its own scores;
#   - a batch transform run as SageMaker runs it (tests/container/batch_transform.py): 80,000
#     lines in mini-batches of at most 1 MiB, answers assembled per file and joined to their lines;
#   - `docker stop` (SIGTERM) while a slow upload is in flight: the request is answered, the
#     container exits 0, well within SageMaker's 30 s;
#   - `docker run <image> train` (SageMaker training contract) writes a model that `serve` loads,
#     and a bad job leaves its reason in /opt/ml/output/failure with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/common.sh
source tests/container/engine.sh

IMAGE=isoserve:container-test
MAX_IMAGE_BYTES=$((15 * 1000 * 1000))
containers=()
scratch=$(mktemp -d)

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  local c
  for c in ${containers[@]+"${containers[@]}"}; do "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true; done
  engine_stop
  rm -rf "$scratch"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# `start_serve NAME PORT [docker run options...]`: a detached `serve` container on the host network.
start_serve() {
  local name=$1 port=$2; shift 2
  containers+=("$name")
  SERVE_STARTED=$EPOCHREALTIME
  "$DOCKER" run -d --name "$name" --network host -e SAGEMAKER_BIND_TO_PORT="$port" \
    -e ISOSERVE_BIND=127.0.0.1 "$@" "$IMAGE" serve >/dev/null
}

# `wait_ready PORT SECONDS`: polls /ping until 200, at most SECONDS after the last start_serve
# began `docker run`; prints the seconds from that start.
wait_ready() {
  local start=$SERVE_STARTED
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ping")" = 200 ]; do
    if (( $(awk -v a="$start" -v b="$EPOCHREALTIME" -v t="$2" 'BEGIN { print (b - a > t) }') )); then
      return 1
    fi
    sleep 0.02
  done
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f\n", b - a }'
}

# `invoke PORT CONTENT_TYPE BODY_FILE [PATH]`: the response body of POST PATH (/invocations);
# fails on a non-200.
invoke() {
  local code path=${4:-/invocations}
  code=$(curl -s -o "$scratch/answer" -w '%{http_code}' -X POST -H "Content-Type: $2" \
    -H 'Accept: application/json' --data-binary "@$3" "http://127.0.0.1:$1$path")
  [ "$code" = 200 ] || fail "$path ($2) answered $code: $(head -c 300 "$scratch/answer")"
  cat "$scratch/answer"
}

scores() { grep -o '"score":[0-9.e-]*' | cut -d: -f2 | tr '\n' ' '; }

step "engine and tools"
ensure_apt curl file
engine_start

step "build the image from the host's static binary (no base-image pulls)"
DOCKER="$DOCKER" deploy/build-image.sh --host-build --tag "$IMAGE"

step "image facts"
size=$("$DOCKER" image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f MB", s / 1e6 }'))"
[ "$size" -le "$MAX_IMAGE_BYTES" ] || fail "image is $size bytes, over $MAX_IMAGE_BYTES"
facts=$("$DOCKER" image inspect "$IMAGE" --format \
  '{{json .Config.Entrypoint}} {{json .Config.Cmd}} user=[{{.Config.User}}] {{json .Config.ExposedPorts}} {{index .Config.Labels "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"}} {{index .Config.Labels "com.amazonaws.sagemaker.capabilities.multi-models"}}')
echo "$facts"
[ "$facts" = '["/usr/local/bin/isoserve"] ["serve"] user=[] {"8080/tcp":{}} true true' ] || fail "image config: $facts"
if "$DOCKER" run --rm --network none --entrypoint /bin/sh "$IMAGE" -c true >/dev/null 2>&1; then
  fail "the image has a shell"
fi

step "serve: /ping within 2 s, /invocations with CSV and JSON"
port=$(free_port)
start_serve serve-baked "$port"
took=$(wait_ready "$port" 2) || { "$DOCKER" logs serve-baked >&2; fail "/ping not 200 within 2 s"; }
echo "/ping 200 ${took}s after docker run began"
printf '%s\n' "10,20,30,40,50" "0,0,0,0,0" "9999,-9999,9999,-9999,9999" >"$scratch/rows.csv"
csv_answer=$(invoke "$port" text/csv "$scratch/rows.csv")
echo "CSV:  $csv_answer"
baked=$(scores <<<"$csv_answer")
[ "$(wc -w <<<"$baked")" = 3 ] || fail "expected 3 scores: $csv_answer"
printf '%s' '{"instances": [[10,20,30,40,50], {"feature_1":0,"feature_2":0,"feature_3":0,"feature_4":0,"feature_5":0}, [9999,-9999,9999,-9999,9999]]}' >"$scratch/rows.json"
json_answer=$(invoke "$port" application/json "$scratch/rows.json")
echo "JSON: $json_answer"
[ "$(scores <<<"$json_answer")" = "$baked" ] || fail "JSON and CSV scores differ"
grep -q '"anomaly":true' <<<"$csv_answer" || fail "the far-out row is not an anomaly"
"$DOCKER" rm -f serve-baked >/dev/null

step "training data and a second model from the trainer"
build_bins
trainer=$(release_bin trainer)
mkdir -p "$scratch/ml/input/config" "$scratch/ml/input/data/training/part" "$scratch/ml/model"
"$trainer" -q generate --rows 3000 --features 5 --anomalies 30 --seed 5 --out "$scratch/ml/input/data/training/a.csv" --labels "$scratch/labels-a.csv"
"$trainer" -q generate --rows 1000 --features 5 --anomalies 10 --seed 6 --out "$scratch/ml/input/data/training/part/b.csv" --labels "$scratch/labels-b.csv"
"$trainer" -q train "$scratch/ml/input/data/training/a.csv" --out "$scratch/other.isof" --trees 50 --seed 99

step "a model.tar.gz unpacked into a mounted /opt/ml/model replaces the baked model"
deploy/package-model.sh --model "$scratch/other.isof" --output "$scratch/model.tar.gz"
mkdir -p "$scratch/opt-ml-model"
tar -xzf "$scratch/model.tar.gz" -C "$scratch/opt-ml-model"
port=$(free_port)
start_serve serve-mounted "$port" -v "$scratch/opt-ml-model:/opt/ml/model:ro"
wait_ready "$port" 10 >/dev/null || { "$DOCKER" logs serve-mounted >&2; fail "mounted-model container not ready"; }
mounted=$(invoke "$port" text/csv "$scratch/rows.csv" | scores)
echo "baked:   $baked"
echo "mounted: $mounted"
[ "$mounted" != "$baked" ] || fail "the mounted model scores like the baked one"
# Read the whole log first: `grep -q` stops at the first match, and a writer still piping into it
# then dies of SIGPIPE, which pipefail turns into a failure of the check.
mounted_log=$("$DOCKER" logs serve-mounted 2>&1)
grep -q '"path":"/opt/ml/model/model.isof"' <<<"$mounted_log" || fail "log does not show /opt/ml/model/model.isof loaded"

step "multi-model mode: models loaded from /opt/ml/models through /models, each invoked by name"
# As SageMaker's agent does: each model.tar.gz unpacked under /opt/ml/models/<id>/model.
deploy/package-model.sh --model models/default.isof --output "$scratch/default.tar.gz"
mkdir -p "$scratch/models/0a1b/model" "$scratch/models/2c3d/model"
tar -xzf "$scratch/model.tar.gz" -C "$scratch/models/0a1b/model"
tar -xzf "$scratch/default.tar.gz" -C "$scratch/models/2c3d/model"
mme_port=$(free_port)
start_serve serve-multi "$mme_port" -e SAGEMAKER_MULTI_MODEL=true -v "$scratch/models:/opt/ml/models:ro"
wait_ready "$mme_port" 2 >/dev/null || { "$DOCKER" logs serve-multi >&2; fail "multi-model container not ready"; }
for id in 0a1b 2c3d; do
  printf '{"model_name": "%s", "url": "/opt/ml/models/%s/model"}' "$id" "$id" >"$scratch/load.json"
  invoke "$mme_port" application/json "$scratch/load.json" /models >/dev/null
done
mme_other=$(invoke "$mme_port" text/csv "$scratch/rows.csv" /models/0a1b/invoke | scores)
mme_default=$(invoke "$mme_port" text/csv "$scratch/rows.csv" /models/2c3d/invoke | scores)
echo "0a1b: $mme_other"
echo "2c3d: $mme_default"
[ "$mme_other" = "$mounted" ] || fail "model 0a1b does not score as the mounted model"
[ "$mme_default" = "$baked" ] || fail "model 2c3d does not score as the baked model"
listed=$(curl -s "http://127.0.0.1:$mme_port/models")
[ "$listed" = '{"models":[{"modelName":"0a1b","modelUrl":"/opt/ml/models/0a1b/model"},{"modelName":"2c3d","modelUrl":"/opt/ml/models/2c3d/model"}]}' ] \
  || fail "GET /models: $listed"
"$DOCKER" rm -f serve-multi >/dev/null

step "batch transform: mini-batches of whole lines within MaxPayloadInMB, answers assembled and joined"
# As SageMaker runs a transform job (tests/container/batch_transform.py): the job's payload limit
# reaches the container as SAGEMAKER_MAX_PAYLOAD_IN_MB, /execution-parameters is asked first,
# each file is cut into requests of whole lines up to 1 MiB.
mkdir -p "$scratch/bt-in"
for part in 1 2; do
  "$trainer" -q generate --rows 40000 --features 5 --anomalies 40 --seed "$((70 + part))" \
    --out "$scratch/bt-$part.csv" --labels "$scratch/bt-$part-labels.csv"
  tail -n +2 "$scratch/bt-$part.csv" >"$scratch/bt-in/part-$part.csv"
  "$trainer" -q score models/default.isof "$scratch/bt-$part.csv" --out "$scratch/bt-$part-scores.csv"
done
bt_port=$(free_port)
start_serve serve-batch "$bt_port" -e SAGEMAKER_MAX_PAYLOAD_IN_MB=1 -e SAGEMAKER_BATCH=true
wait_ready "$bt_port" 2 >/dev/null || { "$DOCKER" logs serve-batch >&2; fail "batch container not ready"; }
summary=$(python3 tests/container/batch_transform.py --url "http://127.0.0.1:$bt_port" \
  --input "$scratch/bt-in" --output "$scratch/bt-out" --join-input) || fail "the transform job failed: $summary"
echo "$summary"
python3 - "$scratch" "$summary" <<'PY' || fail "batch transform output"
import csv, json, sys
scratch, summary = sys.argv[1], json.loads(sys.argv[2])
assert summary["execution_parameters"]["MaxPayloadInMB"] == 1, summary
assert summary["requests"] >= 4 and summary["largest_request"] <= summary["limit_bytes"], summary
for part in (1, 2):
    rows = open("%s/bt-in/part-%d.csv" % (scratch, part)).read().splitlines()
    out = open("%s/bt-out/part-%d.csv.out" % (scratch, part)).read().splitlines()
    assert len(out) == len(rows) == 40000, (len(out), len(rows))
    direct = [float(r["score"]) for r in csv.DictReader(open("%s/bt-%d-scores.csv" % (scratch, part)))]
    for i, (row, line) in enumerate(zip(rows, out)):
        assert line.startswith(row + ","), (i, row, line)
        score, anomaly = line[len(row) + 1:].split(",")
        assert float(score) == direct[i], (i, score, direct[i])
print("batch transform: %d records in %d requests of at most %d bytes, every answer joined to its line "
      "and equal to the host's score" % (summary["records"], summary["requests"], summary["largest_request"]))
PY
"$DOCKER" rm -f serve-batch >/dev/null

step "docker stop (SIGTERM) with a request in flight"
# 120,000 rows (~5 MB) uploaded at 2 MB/s: still arriving when SIGTERM lands 1 s in.
awk 'BEGIN { srand(1); for (i = 0; i < 120000; i++) printf "%.3f,%.3f,%.3f,%.3f,%.3f\n", rand()*100, rand()*100, rand()*100, rand()*100, rand()*100 }' >"$scratch/big.csv"
curl -s -o "$scratch/big-answer" -w '%{http_code}' --limit-rate 2M -X POST -H 'Content-Type: text/csv' \
  -H 'Accept: text/csv' --data-binary "@$scratch/big.csv" "http://127.0.0.1:$port/invocations" >"$scratch/big-code" &
curl_pid=$!
sleep 1
kill -0 "$curl_pid" 2>/dev/null || fail "the upload finished before the stop; nothing was in flight"
stop_start=$SECONDS
"$DOCKER" stop -t 30 serve-mounted >/dev/null
stop_took=$((SECONDS - stop_start))
wait "$curl_pid" || fail "the in-flight request failed (curl error)"
code=$(cat "$scratch/big-code")
lines=$(wc -l <"$scratch/big-answer")
exit_code=$("$DOCKER" inspect serve-mounted --format '{{.State.ExitCode}}')
echo "stop took ${stop_took}s; in-flight request: HTTP $code, $lines lines; exit code $exit_code"
[ "$code" = 200 ] || fail "in-flight request answered $code: $(head -c 300 "$scratch/big-answer")"
[ "$lines" = 120000 ] || fail "in-flight request got $lines answer lines, expected 120000"
[ "$exit_code" = 0 ] || fail "container exited with $exit_code after SIGTERM"
[ "$stop_took" -lt 30 ] || fail "docker stop took ${stop_took}s (SIGKILL territory)"

step "training-job mode: docker run <image> train"
printf '%s' '{"trees": "60", "max_samples": "128", "contamination": "0.02", "seed": "11"}' >"$scratch/ml/input/config/hyperparameters.json"
"$DOCKER" run --rm --network none -v "$scratch/ml:/opt/ml" "$IMAGE" train
[ -s "$scratch/ml/model/model.isof" ] || fail "train wrote no /opt/ml/model/model.isof"
[ ! -e "$scratch/ml/output/failure" ] || fail "a successful job left a failure file"
"$trainer" inspect "$scratch/ml/model/model.isof" | tee "$scratch/inspect"
grep -Eq '^training rows +4000$' "$scratch/inspect" || fail "the trained model does not report 4000 training rows"
port=$(free_port)
start_serve serve-trained "$port" -v "$scratch/ml/model:/opt/ml/model:ro"
wait_ready "$port" 10 >/dev/null || { "$DOCKER" logs serve-trained >&2; fail "trained-model container not ready"; }
trained=$(invoke "$port" text/csv "$scratch/rows.csv" | scores)
echo "trained: $trained"
if [ "$trained" = "$baked" ] || [ "$trained" = "$mounted" ]; then
  fail "the trained model is not the one serving"
fi
"$DOCKER" rm -f serve-trained >/dev/null

step "training-job mode: a bad job fails with its reason in /opt/ml/output/failure"
printf '%s' '{"trees": "lots"}' >"$scratch/ml/input/config/hyperparameters.json"
rm -f "$scratch/ml/model/model.isof"
if "$DOCKER" run --rm --network none -v "$scratch/ml:/opt/ml" "$IMAGE" train; then
  fail "a bad training job exited 0"
fi
reason=$(cat "$scratch/ml/output/failure")
echo "failure: $reason"
grep -q 'hyperparameter trees: expected a non-negative integer, found "lots"' <<<"$reason" || fail "failure reason: $reason"
[ ! -e "$scratch/ml/model/model.isof" ] || fail "a failed job wrote a model"

echo "50-container: all checks passed"

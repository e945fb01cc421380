#!/usr/bin/env bash
# Offline proof of deploy/: the scripts and the CloudFormation template run unchanged against
# moto (ECR, S3, IAM, STS, SageMaker, CloudFormation, Kinesis, Lambda, SNS, SQS, Logs control
# planes) and a local registry that plays ECR's data plane (Debian's docker-registry, htpasswd user
# AWS with moto's ECR token as password). The scripts reach the emulators only through
# AWS_ENDPOINT_URL and --registry, exactly as a user would point them at another endpoint.
#
# What moto cannot prove: endpoints are InService at once (no Creating/Failed phases), image URIs
# and roles are not validated, and sagemaker-runtime InvokeEndpoint answers a canned "body" without
# running any container (so the smoke call proves the request is well-formed and sent, not what the
# model answers: tests/suites/50-container.sh proves that against the real image).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/common.sh
source tests/container/engine.sh
source tests/deploy/bench.sh

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { bench_stop; engine_stop; }
trap cleanup EXIT

step "shellcheck the deploy and container scripts"
ensure_apt shellcheck curl file
shellcheck -x -s bash deploy/*.sh tests/container/*.sh tests/deploy/*.sh tests/suites/[56]0-*.sh

step "every deploy script: --help, and a clear error on a bad flag"
for script in deploy/*.sh; do
  [ "$script" != deploy/lib.sh ] || continue
  help=$("$script" --help) # whole, so grep -q cannot cut the pipe under pipefail
  grep -q "^Usage: $script" <<<"$help" || fail "$script --help has no usage line"
  if err=$("$script" --bogus 2>&1); then fail "$script accepted --bogus"; fi
  grep -q "unknown argument --bogus" <<<"$err" || fail "$script --bogus: $err"
done

step "cfn-lint deploy/cloudformation.yaml"
bench_start_moto
cfn-lint deploy/cloudformation.yaml

step "local registry as the ECR data plane"
engine_start
export DOCKER
bench_start_registry
token=$(aws ecr get-login-password)
[ "$(curl -s -o /dev/null -w '%{http_code}' -u "AWS:wrong" "http://$REGISTRY_HOST/v2/")" = 401 ] ||
  fail "the registry accepted a wrong password"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u "AWS:$token" "http://$REGISTRY_HOST/v2/")" = 200 ] ||
  fail "the registry refused moto's ECR token"

step "build-and-push.sh (host-built binary, no base-image pulls)"
repo=isoserve-offline
pushed_log=$(deploy/build-and-push.sh --repository "$repo" --tag t1 --host-build --registry "$REGISTRY_HOST" 2>&1) ||
  fail "build-and-push: $pushed_log"
uri=$(tail -1 <<<"$pushed_log")
[ "$uri" = "123456789012.dkr.ecr.us-east-1.amazonaws.com/$repo:t1" ] || fail "image URI $uri"
grep -q "pushed manifest is application/vnd.docker.distribution.manifest.v2+json" <<<"$pushed_log" ||
  fail "the pushed manifest was not checked: $pushed_log"
tags=$(curl -s -u "AWS:$token" "http://$REGISTRY_HOST/v2/$repo/tags/list")
grep -q '"t1"' <<<"$tags" || fail "t1 not in the registry: $tags"
# The manifest in the registry is the one of the local image.
pushed=$(curl -s -u "AWS:$token" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  -o /dev/null -w '%header{docker-content-digest}' "http://$REGISTRY_HOST/v2/$repo/manifests/t1")
local_digest=$("$DOCKER" image inspect "$REGISTRY_HOST/$repo:t1" --format '{{join .RepoDigests " "}}')
[[ $local_digest == *"$pushed"* ]] || fail "registry digest $pushed is not the local image's ($local_digest)"
aws ecr describe-repositories --repository-names "$repo" >/dev/null || fail "ECR repository not created"
# Idempotent: the repository exists now, and the second push uploads nothing new.
again=$(deploy/build-and-push.sh --repository "$repo" --tag t1 --image isoserve:t1 --registry "$REGISTRY_HOST" 2>&1)
grep -q "ECR repository $repo exists" <<<"$again" || fail "second run did not reuse the repository: $again"
# What was pushed runs: pull it back by digest and read its SageMaker label.
"$DOCKER" rmi "$REGISTRY_HOST/$repo:t1" >/dev/null
"$DOCKER" pull -q "$REGISTRY_HOST/$repo@$pushed" >/dev/null
label=$("$DOCKER" image inspect "$REGISTRY_HOST/$repo@$pushed" \
  --format '{{index .Config.Labels "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"}}')
[ "$label" = true ] || fail "pulled image lacks the bind-to-port label"

step "the manifest check refuses what SageMaker refuses"
# The same image under an OCI manifest (what buildx with the containerd store pushes), put with
# the registry's own API: --verify-only must refuse it, and accept the Docker one.
python3 - "http://$REGISTRY_HOST" "$repo" "$token" <<'PY' || fail "could not put an OCI manifest"
import base64, json, sys, urllib.request
base, repo, token = sys.argv[1:]
auth = {"Authorization": "Basic " + base64.b64encode(("AWS:" + token).encode()).decode()}
get = urllib.request.Request("%s/v2/%s/manifests/t1" % (base, repo), headers=dict(
    auth, Accept="application/vnd.docker.distribution.manifest.v2+json"))
manifest = json.load(urllib.request.urlopen(get))
manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
manifest["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json"
for layer in manifest["layers"]:
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
put = urllib.request.Request("%s/v2/%s/manifests/oci" % (base, repo), method="PUT",
    data=json.dumps(manifest).encode(), headers=dict(auth, **{"Content-Type": manifest["mediaType"]}))
assert urllib.request.urlopen(put).status == 201
PY
if out=$(deploy/build-and-push.sh --repository "$repo" --tag oci --registry "$REGISTRY_HOST" --verify-only 2>&1); then
  fail "an OCI manifest passed the check: $out"
fi
grep -q "is application/vnd.oci.image.manifest.v1+json; SageMaker rejects it" <<<"$out" || fail "unclear refusal: $out"
out=$(deploy/build-and-push.sh --repository "$repo" --tag t1 --registry "$REGISTRY_HOST" --verify-only 2>&1) ||
  fail "the Docker manifest failed the check: $out"

step "package-model.sh to S3"
s3=$(deploy/package-model.sh --model models/default.isof --s3-uri s3://isoserve-offline-models/v1/ --create-bucket | tail -1)
[ "$s3" = s3://isoserve-offline-models/v1/model.tar.gz ] || fail "S3 URL $s3"
deploy/package-model.sh --model models/default.isof --s3-uri "$s3" >/dev/null   # idempotent
scratch=$(mktemp -d)
aws s3 cp --only-show-errors "$s3" "$scratch/model.tar.gz"
[ "$(tar -tzf "$scratch/model.tar.gz")" = model.isof ] || fail "archive holds $(tar -tzf "$scratch/model.tar.gz")"
tar -xzf "$scratch/model.tar.gz" -C "$scratch"
cmp -s "$scratch/model.isof" models/default.isof || fail "archived model differs from the input"

step "create-endpoint.sh against moto"
role=$(aws iam create-role --role-name isoserve-offline-sagemaker \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
  --query Role.Arn --output text)
out=$(deploy/create-endpoint.sh --name isoserve-offline --image "$uri" --role "$role" \
  --model-data-url "$s3" --env ISOSERVE_OUTPUT_FORMAT=rcf --env 'NOTE=a "quoted", value' \
  --instance-type ml.c5.large --instance-count 2 --smoke-row 1,2,3,4,5 2>&1) || fail "create-endpoint: $out"
echo "$out"
grep -q "smoke invoke-endpoint with \[1,2,3,4,5\] answered: body" <<<"$out" || fail "no smoke invocation"
[ "$(aws sagemaker describe-endpoint --endpoint-name isoserve-offline --query EndpointStatus --output text)" = InService ] ||
  fail "endpoint not InService"
model=$(aws sagemaker describe-model --model-name isoserve-offline --output json)
for want in "\"Image\": \"$uri\"" "\"ModelDataUrl\": \"$s3\"" '"ISOSERVE_OUTPUT_FORMAT": "rcf"' \
            '"NOTE": "a \"quoted\", value"' "\"ExecutionRoleArn\": \"$role\""; do
  grep -qF "$want" <<<"$model" || fail "describe-model lacks $want: $model"
done
variant=$(aws sagemaker describe-endpoint-config --endpoint-config-name isoserve-offline \
  --query 'ProductionVariants[0].[VariantName,InstanceType,InitialInstanceCount]' --output text)
[ "$(echo "$variant" | tr -s '\t ' ' ')" = "AllTraffic ml.c5.large 2" ] || fail "variant $variant"
out=$(deploy/create-endpoint.sh --name isoserve-offline --image "$uri" --role "$role" --no-smoke \
  --autoscale 2,6,40000 --scale-in-cooldown 600 2>&1)
if ! grep -q "model isoserve-offline exists" <<<"$out" || ! grep -q "endpoint isoserve-offline exists" <<<"$out"; then
  fail "second create-endpoint did not reuse: $out"
fi
scaling=$(aws application-autoscaling describe-scalable-targets --service-namespace sagemaker \
  --query 'ScalableTargets[0].[ResourceId,MinCapacity,MaxCapacity]' --output text)
[ "$(tr -s '\t' ' ' <<<"$scaling")" = "endpoint/isoserve-offline/variant/AllTraffic 2 6" ] || fail "scalable target: $scaling"
policy=$(aws application-autoscaling describe-scaling-policies --service-namespace sagemaker \
  --query 'ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.[TargetValue,PredefinedMetricSpecification.PredefinedMetricType,ScaleInCooldown,ScaleOutCooldown]' --output text)
[[ "$(tr -s '\t' ' ' <<<"$policy")" =~ ^40000(\.0)?\ SageMakerVariantInvocationsPerInstance\ 600\ 60$ ]] || fail "scaling policy: $policy"
if out=$(deploy/create-endpoint.sh --name x --image "$uri" --role "$role" --autoscale 5,2,100 2>&1); then
  fail "--autoscale 5,2,100 accepted"
fi
grep -q "MIN 5 is above MAX 2" <<<"$out" || fail "unclear --autoscale refusal: $out"

step "batch-transform.sh against moto"
out=$(deploy/batch-transform.sh --name isoserve-bt --model isoserve-offline --input s3://isoserve-offline-models/bt-in/ \
  --output s3://isoserve-offline-models/bt-out/ --join-input --max-payload-mb 2 --instance-count 3 2>&1) ||
  fail "batch-transform: $out"
grep -q "transform job isoserve-bt completed" <<<"$out" || fail "no completion reported: $out"
job=$(aws sagemaker describe-transform-job --transform-job-name isoserve-bt --query \
  '[ModelName,TransformInput.SplitType,TransformInput.ContentType,BatchStrategy,MaxPayloadInMB,TransformOutput.AssembleWith,TransformOutput.Accept,DataProcessing.JoinSource,TransformResources.InstanceCount]' \
  --output text)
[ "$(tr -s '\t' ' ' <<<"$job")" = "isoserve-offline Line text/csv MultiRecord 2 Line text/csv Input 3" ] || fail "transform job: $job"
out=$(deploy/batch-transform.sh --name isoserve-bt --model isoserve-offline --input s3://isoserve-offline-models/bt-in/ \
  --output s3://isoserve-offline-models/bt-out/ 2>&1) || fail "second batch-transform: $out"
grep -q "exists; not creating it again" <<<"$out" || fail "second run created the job again: $out"
for bad in "--max-payload-mb 101" "--content-type application/json" "--input s3://no-slash"; do
  # shellcheck disable=SC2086
  if out=$(deploy/batch-transform.sh --name x --model m --input s3://b/in/ --output s3://b/out/ $bad 2>&1); then
    fail "batch-transform.sh $bad was accepted"
  fi
  grep -q "error: " <<<"$out" || fail "batch-transform.sh $bad: $out"
done

step "multi-model: one archive per entity under one prefix, a MultiModel endpoint on it"
mkdir -p "$scratch/fleet"
cp models/default.isof "$scratch/fleet/pump-1.isof"
cp models/default.isof "$scratch/fleet/pump-2.isof"
echo '{"group_by": "device"}' >"$scratch/fleet/manifest.json"   # what trainer writes beside them
prefix=$(deploy/package-model.sh --models-dir "$scratch/fleet" --s3-uri s3://isoserve-offline-models/fleet/ | tail -1)
[ "$prefix" = s3://isoserve-offline-models/fleet/ ] || fail "prefix $prefix"
listed=$(aws s3 ls "$prefix" | awk '{print $4}' | tr '\n' ' ')
[ "$listed" = "pump-1.tar.gz pump-2.tar.gz " ] || fail "under $prefix: $listed"
aws s3 cp --only-show-errors "${prefix}pump-2.tar.gz" "$scratch/pump-2.tar.gz"
[ "$(tar -tzf "$scratch/pump-2.tar.gz")" = model.isof ] || fail "pump-2.tar.gz holds $(tar -tzf "$scratch/pump-2.tar.gz")"
if out=$(deploy/create-endpoint.sh --name isoserve-fleet --image "$uri" --role "$role" \
    --model-data-url "${prefix}pump-1.tar.gz" --multi-model --no-smoke 2>&1); then
  fail "a MultiModel endpoint on one archive was accepted: $out"
fi
grep -q "needs --model-data-url s3://bucket/prefix/" <<<"$out" || fail "unclear refusal: $out"
out=$(deploy/create-endpoint.sh --name isoserve-fleet --image "$uri" --role "$role" \
  --model-data-url "$prefix" --multi-model --smoke-target pump-2.tar.gz --smoke-row 1,2,3,4,5 2>&1) ||
  fail "create-endpoint --multi-model: $out"
grep -q "smoke invoke-endpoint with \[1,2,3,4,5\] answered" <<<"$out" || fail "no smoke invocation: $out"
container=$(aws sagemaker describe-model --model-name isoserve-fleet \
  --query '[PrimaryContainer.Mode,PrimaryContainer.ModelDataUrl]' --output text)
[ "$(tr -s '\t' ' ' <<<"$container")" = "MultiModel $prefix" ] || fail "multi-model container: $container"
deploy/teardown.sh --name isoserve-fleet >/dev/null

step "serverless and asynchronous endpoints"
out=$(deploy/create-endpoint.sh --name isoserve-serverless --image "$uri" --role "$role" \
  --serverless 2048,20 --no-smoke 2>&1) || fail "create-endpoint --serverless: $out"
variant=$(aws sagemaker describe-endpoint-config --endpoint-config-name isoserve-serverless \
  --query 'ProductionVariants[0].[ServerlessConfig.MemorySizeInMB,ServerlessConfig.MaxConcurrency,InstanceType]' --output text)
[ "$(tr -s '\t' ' ' <<<"$variant")" = "2048 20 None" ] || fail "serverless variant: $variant"
ok_topic=arn:aws:sns:us-east-1:123456789012:async-ok err_topic=arn:aws:sns:us-east-1:123456789012:async-err
out=$(deploy/create-endpoint.sh --name isoserve-async --image "$uri" --role "$role" --no-smoke \
  --async s3://isoserve-offline-models/async/ --async-topics "$ok_topic,$err_topic" 2>&1) ||
  fail "create-endpoint --async: $out"
async=$(aws sagemaker describe-endpoint-config --endpoint-config-name isoserve-async \
  --query 'AsyncInferenceConfig.OutputConfig.[S3OutputPath,S3FailurePath,NotificationConfig.SuccessTopic,NotificationConfig.ErrorTopic]' --output text)
[ "$(tr -s '\t' ' ' <<<"$async")" = "s3://isoserve-offline-models/async/ s3://isoserve-offline-models/async/ $ok_topic $err_topic" ] ||
  fail "async config: $async"
env=$(aws sagemaker describe-model --model-name isoserve-async \
  --query 'PrimaryContainer.Environment.[SAGEMAKER_MAX_PAYLOAD_IN_MB,SAGEMAKER_MODEL_SERVER_TIMEOUT]' --output text)
[ "$(tr -s '\t' ' ' <<<"$env")" = "1024 3600" ] || fail "async container environment: $env"
for bad in "--serverless 1000,5" "--serverless 2048,500" "--serverless 2048,5 --async s3://b/p/" "--async-topics a,b"; do
  # shellcheck disable=SC2086
  if out=$(deploy/create-endpoint.sh --name x --image "$uri" --role "$role" $bad 2>&1); then
    fail "create-endpoint.sh $bad was accepted"
  fi
  grep -q "error: " <<<"$out" || fail "create-endpoint.sh $bad: $out"
done
deploy/teardown.sh --name isoserve-serverless >/dev/null
deploy/teardown.sh --name isoserve-async >/dev/null

step "shadow rollout: shadow.sh, shadow-report.sh, promote.sh"
# moto 5.2.5 keeps no ShadowProductionVariants and has no UpdateEndpoint: tests/deploy/moto_server.py
# adds both as the API reference describes them; the aws CLI checks every request against
# SageMaker's own service model before it is sent.
capture=s3://isoserve-offline-models/capture/
shadow_config=isoserve-offline-shadow-isoserve-offline-v2
out=$(deploy/shadow.sh --endpoint isoserve-offline --model-name isoserve-offline-v2 --image "$uri" --role "$role" \
  --model-data-url "$s3" --sampling 25 --capture "$capture" --instance-type ml.m5.large --instance-count 1 2>&1) ||
  fail "shadow.sh: $out"
grep -q "create-model isoserve-offline-v2" <<<"$out" || fail "shadow.sh created no model: $out"
[ "$(aws sagemaker describe-endpoint --endpoint-name isoserve-offline --query EndpointConfigName --output text)" = "$shadow_config" ] ||
  fail "the endpoint is not on $shadow_config"
cfg() { aws sagemaker describe-endpoint-config --endpoint-config-name "$1" --query "$2" --output text | tr -s '\t\n' '  ' | sed 's/ $//'; }
# shellcheck disable=SC2016  # a JMESPath literal
Q_SHADOW_COUNT='length(ShadowProductionVariants || `[]`)'
# Production carried over with its live count (2) and weight 1; the shadow at weight 0.25 = 25 %.
[ "$(cfg "$shadow_config" 'ProductionVariants[0].[VariantName,ModelName,InstanceType,InitialInstanceCount,InitialVariantWeight]')" = "AllTraffic isoserve-offline ml.c5.large 2 1.0" ] ||
  fail "production variant: $(cfg "$shadow_config" 'ProductionVariants[0]')"
[ "$(cfg "$shadow_config" 'ShadowProductionVariants[0].[VariantName,ModelName,InstanceType,InitialInstanceCount,InitialVariantWeight]')" = "Shadow isoserve-offline-v2 ml.m5.large 1 0.25" ] ||
  fail "shadow variant: $(cfg "$shadow_config" 'ShadowProductionVariants[0]')"
[ "$(cfg "$shadow_config" 'DataCaptureConfig.[EnableCapture,InitialSamplingPercentage,DestinationS3Uri,CaptureOptions[].CaptureMode,CaptureContentTypeHeader.JsonContentTypes]')" = "True 100 $capture Input Output application/json application/jsonlines" ] ||
  fail "data capture: $(cfg "$shadow_config" DataCaptureConfig)"
out=$(deploy/shadow.sh --endpoint isoserve-offline --model-name isoserve-offline-v2 --sampling 25 --capture "$capture" 2>&1)
grep -q "already runs $shadow_config" <<<"$out" || fail "second shadow.sh: $out"
if out=$(deploy/shadow.sh --endpoint isoserve-offline --model-name isoserve-offline --config-name other 2>&1); then
  fail "a second shadow was accepted: $out"
fi
grep -q "already has shadow variant Shadow: promote.sh or promote.sh --discard it first" <<<"$out" || fail "unclear refusal: $out"
# The production variant is autoscaled on ml.c5.large and the shadow runs on ml.m5.large.
if out=$(deploy/promote.sh --endpoint isoserve-offline 2>&1); then fail "promote across instance types accepted: $out"; fi
grep -q "variant AllTraffic is autoscaled and the shadow runs on ml.m5.large" <<<"$out" || fail "unclear refusal: $out"
out=$(deploy/promote.sh --endpoint isoserve-offline --discard 2>&1) || fail "promote.sh --discard: $out"
grep -q "to go back: aws sagemaker update-endpoint --endpoint-name isoserve-offline --endpoint-config-name $shadow_config" <<<"$out" ||
  fail "no way back printed: $out"
[ "$(cfg isoserve-offline-isoserve-offline "[ProductionVariants[0].ModelName, ProductionVariants[0].InstanceType, ProductionVariants[0].InitialInstanceCount, $Q_SHADOW_COUNT, DataCaptureConfig.EnableCapture]")" = "isoserve-offline ml.c5.large 2 0 None" ] ||
  fail "after --discard: $(cfg isoserve-offline-isoserve-offline '@')"
out=$(deploy/promote.sh --endpoint isoserve-offline --discard 2>&1) || fail "second promote.sh --discard: $out"
grep -q "already runs isoserve-offline-isoserve-offline" <<<"$out" || fail "second --discard: $out"

# Shadow again on production's instance type, with --no-update first (a change review).
out=$(deploy/shadow.sh --endpoint isoserve-offline --model-name isoserve-offline-v2 --capture "$capture" \
  --config-name shadow-again --no-update 2>&1) || fail "shadow.sh --no-update: $out"
grep -q "update-endpoint --endpoint-name isoserve-offline --endpoint-config-name shadow-again" <<<"$out" || fail "$out"
[ "$(aws sagemaker describe-endpoint --endpoint-name isoserve-offline --query EndpointConfigName --output text)" = isoserve-offline-isoserve-offline ] ||
  fail "--no-update updated the endpoint"
deploy/shadow.sh --endpoint isoserve-offline --model-name isoserve-offline-v2 --capture "$capture" --config-name shadow-again >/dev/null 2>&1 ||
  fail "shadow.sh on shadow-again"
[ "$(cfg shadow-again 'ShadowProductionVariants[0].[InstanceType,InitialInstanceCount,InitialVariantWeight]')" = "ml.c5.large 2 1.0" ] ||
  fail "default shadow: $(cfg shadow-again 'ShadowProductionVariants[0]')"

# Captures of real answers: the default model in production, a model trained on other data as
# the shadow, 4 rows per request, every 2nd request replicated.
"$(release_bin trainer)" -q generate --rows 400 --anomalies 10 --seed 11 --out "$scratch/shadow-data.csv" --labels "$scratch/shadow-labels.csv" >/dev/null
"$(release_bin trainer)" -q train "$scratch/shadow-data.csv" --out "$scratch/shadow.isof" >/dev/null
p_port=$(free_port) s_port=$(free_port)
"$(release_bin isoserve)" serve --bind 127.0.0.1 --port "$p_port" --model models/default.isof >"$scratch/p.log" 2>&1 &
BENCH_PIDS+=($!)
"$(release_bin isoserve)" serve --bind 127.0.0.1 --port "$s_port" --model "$scratch/shadow.isof" >"$scratch/s.log" 2>&1 &
BENCH_PIDS+=($!)
wait_http "http://127.0.0.1:$p_port/ping" 200 30
wait_http "http://127.0.0.1:$s_port/ping" 200 30
mkdir -p "$scratch/captured"
python3 tests/deploy/captures.py "http://127.0.0.1:$p_port" "http://127.0.0.1:$s_port" "$scratch/shadow-data.csv" 4 2 "$scratch/captured"
aws s3 cp --only-show-errors "$scratch/captured/production.jsonl" "${capture}isoserve-offline/AllTraffic/2026/12/01/10/capture-0.jsonl"
aws s3 cp --only-show-errors "$scratch/captured/shadow.jsonl" "${capture}isoserve-offline/Shadow/2026/12/01/10/capture-0.jsonl"
export TRAINER
TRAINER=$(release_bin trainer)
report=$(deploy/shadow-report.sh --endpoint isoserve-offline --json 2>"$scratch/report.err") ||
  fail "shadow-report.sh: $(cat "$scratch/report.err")"
python3 - "$scratch/captured/expected.json" "$report" <<'PY' || fail "the report is not what the answers hold: $report"
import json, sys
want, got = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
assert got["paired_by_event_id"] == want["pairs"] > 0 and got["paired_by_input"] == 0, got
assert got["production_unpaired"] == got["production_captures"] - want["pairs"] > 0, got
for key in ("rows", "both_anomalous", "production_only", "shadow_only"):
    assert got[key] == want[key], (key, got[key], want[key])
assert got["production_only"] + got["shadow_only"] > 0, "the two models never disagree: the test proves little"
assert got["drift"]["rows"] == want["rows"], got
PY
grep -q "downloading shadow (Shadow) captures from ${capture}isoserve-offline/Shadow/" "$scratch/report.err" ||
  fail "shadow-report.sh did not read the shadow's prefix: $(cat "$scratch/report.err")"
if out=$(deploy/shadow-report.sh --endpoint isoserve-offline --min-agreement 1 2>&1); then
  fail "--min-agreement 1 passed on disagreeing variants: $out"
fi
grep -q "below --min-agreement 1" <<<"$out" || fail "unclear gate failure: $out"
if out=$(deploy/shadow-report.sh --endpoint isoserve-offline --period 2026/12/02 2>&1); then fail "an empty period passed: $out"; fi
grep -q "no captures under ${capture}isoserve-offline/AllTraffic/2026/12/02/" <<<"$out" || fail "unclear empty period: $out"

out=$(deploy/promote.sh --endpoint isoserve-offline --keep-capture 2>&1) || fail "promote.sh: $out"
grep -q "model isoserve-offline-v2 is production variant AllTraffic" <<<"$out" || fail "promote.sh: $out"
[ "$(cfg isoserve-offline-isoserve-offline-v2 "[ProductionVariants[0].VariantName, ProductionVariants[0].ModelName, ProductionVariants[0].InstanceType, ProductionVariants[0].InitialInstanceCount, ProductionVariants[0].InitialVariantWeight, $Q_SHADOW_COUNT, DataCaptureConfig.EnableCapture]")" = "AllTraffic isoserve-offline-v2 ml.c5.large 2 1.0 0 True" ] ||
  fail "promoted: $(cfg isoserve-offline-isoserve-offline-v2 '@')"
[ "$(aws sagemaker describe-endpoint --endpoint-name isoserve-offline --query EndpointConfigName --output text)" = isoserve-offline-isoserve-offline-v2 ] ||
  fail "the endpoint is not on the promoted configuration"
out=$(deploy/promote.sh --endpoint isoserve-offline 2>&1) || fail "second promote.sh: $out"
grep -q "already runs isoserve-offline-isoserve-offline-v2" <<<"$out" || fail "second promote.sh: $out"
if out=$(deploy/shadow-report.sh --endpoint isoserve-offline --capture "$capture" 2>&1); then fail "report without a shadow: $out"; fi
grep -q "no shadow variant now (promoted or discarded?): give --shadow-variant" <<<"$out" || fail "unclear: $out"
out=$(deploy/shadow-report.sh --endpoint isoserve-offline --capture "$capture" --shadow-variant Shadow 2>&1) ||
  fail "report after promotion: $out"
grep -q "paired .* by event id" <<<"$out" || fail "report after promotion: $out"
for bad in "--sampling 0" "--sampling 101" "--capture-percent x" "--capture /local" "--image x"; do
  # shellcheck disable=SC2086
  if out=$(deploy/shadow.sh --endpoint isoserve-offline --model-name m $bad 2>&1); then fail "shadow.sh $bad accepted"; fi
  grep -q "error: " <<<"$out" || fail "shadow.sh $bad: $out"
done

step "teardown.sh"
out=$(deploy/teardown.sh --name isoserve-offline --ecr-repository "$repo" --model-data-url "$s3" \
  --config-name isoserve-offline --config-name "$shadow_config" --config-name isoserve-offline-isoserve-offline \
  --config-name shadow-again --model-name isoserve-offline 2>&1) || fail "teardown: $out"
echo "$out"
grep -q "model isoserve-offline-v2 (served by isoserve-offline) is kept; delete it with --model-name isoserve-offline-v2" <<<"$out" ||
  fail "teardown did not name the served model"
for config in isoserve-offline "$shadow_config" isoserve-offline-isoserve-offline shadow-again isoserve-offline-isoserve-offline-v2; do
  aws sagemaker describe-endpoint-config --endpoint-config-name "$config" >/dev/null 2>&1 && fail "config $config still there"
done
aws sagemaker delete-model --model-name isoserve-offline-v2
[ -z "$(aws application-autoscaling describe-scalable-targets --service-namespace sagemaker --query 'ScalableTargets[].ResourceId' --output text)" ] ||
  fail "the scalable target survived teardown"
[ -z "$(aws application-autoscaling describe-scaling-policies --service-namespace sagemaker --query 'ScalingPolicies[].PolicyName' --output text)" ] ||
  fail "the scaling policy survived teardown"
aws sagemaker describe-endpoint --endpoint-name isoserve-offline >/dev/null 2>&1 && fail "endpoint still there"
aws sagemaker describe-endpoint-config --endpoint-config-name isoserve-offline >/dev/null 2>&1 && fail "config still there"
aws sagemaker describe-model --model-name isoserve-offline >/dev/null 2>&1 && fail "model still there"
aws ecr describe-repositories --repository-names "$repo" >/dev/null 2>&1 && fail "repository still there"
aws s3 ls "$s3" >/dev/null 2>&1 && fail "model.tar.gz still there"
out=$(deploy/teardown.sh --name isoserve-offline 2>&1)
grep -q "endpoint isoserve-offline: already gone" <<<"$out" || fail "second teardown: $out"

step "CloudFormation stack in moto"
tests/deploy/stack.sh "$scratch"
rm -rf "$scratch"
echo "60-deploy: all checks passed"

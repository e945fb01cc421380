#!/usr/bin/env bash
# Creates a SageMaker model, endpoint configuration and real-time endpoint for an isoserve image,
# waits until the endpoint is InService, and smoke-tests it with one CSV row.
#
# Usage: deploy/create-endpoint.sh --name NAME --image URI --role ARN [options]
#
#   --name NAME            endpoint name; also the model and endpoint-config name unless
#                          --model-name / --config-name say otherwise      (env ENDPOINT_NAME)
#   --image URI            image URI, e.g. from build-and-push.sh          (env IMAGE_URI)
#   --role ARN             execution role SageMaker assumes (ECR pull, S3 read, logs)
#                                                                          (env SAGEMAKER_ROLE_ARN)
#   --model-data-url S3    model.tar.gz from package-model.sh; without it the baked model serves
#   --multi-model          a multi-model endpoint (container Mode MultiModel): --model-data-url
#                          is then the S3 prefix of package-model.sh --models-dir, and each
#                          request names its model with TargetModel=<entity>.tar.gz
#   --smoke-target NAME    multi-model: the TargetModel of the smoke invocation
#   --autoscale MIN,MAX,TARGET
#                          target tracking on SageMakerVariantInvocationsPerInstance: between MIN
#                          and MAX instances, holding TARGET invocations per instance per minute
#                          (README: size TARGET from the benchmark's requests/s per instance)
#   --scale-in-cooldown S  seconds, default 300
#   --scale-out-cooldown S seconds, default 60
#   --serverless MEMORY,CONCURRENCY
#                          a serverless endpoint: MEMORY MB (1024-6144, a multiple of 1024),
#                          at most CONCURRENCY (1-200) requests at once; no instances
#   --async S3_OUTPUT      an asynchronous endpoint writing answers under S3_OUTPUT; the
#                          container gets SAGEMAKER_MAX_PAYLOAD_IN_MB=1024 and
#                          SAGEMAKER_MODEL_SERVER_TIMEOUT=3600 unless --env sets them
#   --async-failure S3     where failed requests' errors go (default: S3_OUTPUT)
#   --async-topics OK,ERR  SNS topic ARNs told of each success and each error
#   --env KEY=VALUE        container environment, repeatable (e.g. ISOSERVE_OUTPUT_FORMAT=rcf)
#   --instance-type TYPE   default ml.m5.large
#   --instance-count N     default 1
#   --variant NAME         production variant name, default AllTraffic
#   --model-name NAME      default: --name
#   --config-name NAME     default: --name
#   --smoke-row CSV        the row to invoke with (one value per model feature)
#                          (env SMOKE_ROW, default 0,0,0,0,0: the default model's five features)
#   --no-smoke             skip the smoke invocation
#   --wait-timeout SECS    give up waiting for InService after this long, default 1800
#   --region REGION        AWS region (default: the CLI's configuration)
#   -h, --help             this text
#
# Idempotent: an existing model or endpoint configuration of the same name is reused (they are
# immutable in SageMaker: change the names to roll out a new image or model), and an existing
# endpoint is waited for instead of created.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SAGEMAKER|_SAGEMAKER_RUNTIME] and the
# other aws CLI variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

name=${ENDPOINT_NAME:-} image=${IMAGE_URI:-} role=${SAGEMAKER_ROLE_ARN:-} model_data=""
envs=() instance_type=ml.m5.large instance_count=1 variant=AllTraffic model_name="" config_name=""
smoke_row=${SMOKE_ROW:-0,0,0,0,0} smoke=true wait_timeout=1800 mode=SingleModel smoke_target=""
autoscale="" scale_in=300 scale_out=60 serverless="" async_output="" async_failure="" async_topics=""
while [ $# -gt 0 ]; do
  case $1 in
    --name) need_value "$@"; name=$2; shift 2 ;;
    --image) need_value "$@"; image=$2; shift 2 ;;
    --role) need_value "$@"; role=$2; shift 2 ;;
    --model-data-url) need_value "$@"; model_data=$2; shift 2 ;;
    --multi-model) mode=MultiModel; shift ;;
    --smoke-target) need_value "$@"; smoke_target=$2; shift 2 ;;
    --autoscale) need_value "$@"; autoscale=$2; shift 2 ;;
    --scale-in-cooldown) need_value "$@"; scale_in=$2; shift 2 ;;
    --scale-out-cooldown) need_value "$@"; scale_out=$2; shift 2 ;;
    --serverless) need_value "$@"; serverless=$2; shift 2 ;;
    --async) need_value "$@"; async_output=$2; shift 2 ;;
    --async-failure) need_value "$@"; async_failure=$2; shift 2 ;;
    --async-topics) need_value "$@"; async_topics=$2; shift 2 ;;
    --env) need_value "$@"; [[ $2 == ?*=* ]] || die "--env wants KEY=VALUE, got $2"; envs+=("$2"); shift 2 ;;
    --instance-type) need_value "$@"; instance_type=$2; shift 2 ;;
    --instance-count) need_value "$@"; instance_count=$2; shift 2 ;;
    --variant) need_value "$@"; variant=$2; shift 2 ;;
    --model-name) need_value "$@"; model_name=$2; shift 2 ;;
    --config-name) need_value "$@"; config_name=$2; shift 2 ;;
    --smoke-row) need_value "$@"; smoke_row=$2; shift 2 ;;
    --no-smoke) smoke=false; shift ;;
    --wait-timeout) need_value "$@"; wait_timeout=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$name" ] || die "--name is required (see --help)"
[ -n "$image" ] || die "--image is required (see --help)"
[ -n "$role" ] || die "--role is required (see --help)"
[[ $instance_count =~ ^[1-9][0-9]*$ ]] || die "--instance-count must be a positive integer"
[[ $wait_timeout =~ ^[0-9]+$ ]] || die "--wait-timeout must be a number of seconds"
model_name=${model_name:-$name} config_name=${config_name:-$name}
if [ -n "$serverless" ]; then
  [[ $serverless =~ ^([0-9]+),([0-9]+)$ ]] || die "--serverless wants MEMORY,CONCURRENCY, got $serverless"
  serverless_memory=$((10#${BASH_REMATCH[1]})) serverless_concurrency=$((10#${BASH_REMATCH[2]}))
  (( serverless_memory % 1024 == 0 && serverless_memory >= 1024 && serverless_memory <= 6144 )) ||
    die "--serverless: MEMORY is one of 1024, 2048, ..., 6144 MB, got $serverless_memory"
  (( serverless_concurrency >= 1 && serverless_concurrency <= 200 )) ||
    die "--serverless: CONCURRENCY is 1 to 200, got $serverless_concurrency"
  [ -z "$autoscale" ] || die "--serverless scales by itself; drop --autoscale"
  [ -z "$async_output" ] || die "--serverless and --async do not combine (SageMaker refuses it)"
  [ "$mode" = SingleModel ] || die "serverless endpoints do not serve multi-model containers"
fi
if [ -n "$async_output" ]; then
  [[ $async_output == s3://?* ]] || die "--async wants an s3:// output path, got $async_output"
  [ -z "$async_failure" ] || [[ $async_failure == s3://?* ]] || die "--async-failure wants an s3:// path"
  [ -z "$async_topics" ] || [[ $async_topics =~ ^arn:[^,]+,arn:[^,]+$ ]] || die "--async-topics wants SUCCESS_ARN,ERROR_ARN"
  # Bodies up to 1 GB and an hour per request, unless the caller chose otherwise.
  for kv in SAGEMAKER_MAX_PAYLOAD_IN_MB=1024 SAGEMAKER_MODEL_SERVER_TIMEOUT=3600; do
    [[ " ${envs[*]-} " == *" ${kv%%=*}="* ]] || envs+=("$kv")
  done
elif [ -n "$async_failure$async_topics" ]; then
  die "--async-failure and --async-topics need --async"
fi
if [ -n "$autoscale" ]; then
  [[ $autoscale =~ ^([1-9][0-9]*),([1-9][0-9]*),([1-9][0-9]*)$ ]] ||
    die "--autoscale wants MIN,MAX,TARGET (positive integers), got $autoscale"
  scale_min=${BASH_REMATCH[1]} scale_max=${BASH_REMATCH[2]} scale_target=${BASH_REMATCH[3]}
  [ "$scale_min" -le "$scale_max" ] || die "--autoscale: MIN $scale_min is above MAX $scale_max"
  [[ $scale_in =~ ^[0-9]+$ && $scale_out =~ ^[0-9]+$ ]] || die "cool-downs are whole seconds"
fi
if [ "$mode" = MultiModel ]; then
  [[ $model_data == s3://*/ ]] || die "--multi-model needs --model-data-url s3://bucket/prefix/ (the prefix of the models), got ${model_data:-nothing}"
  ! $smoke || [ -n "$smoke_target" ] || die "--multi-model needs --smoke-target ENTITY.tar.gz (or --no-smoke)"
fi
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

container=$(container_json "$image" "$mode" "$model_data" ${envs[@]+"${envs[@]}"})
ensure_model "$model_name" "$role" "$container" "$mode, $image${model_data:+, $model_data}"

if aws_try sagemaker describe-endpoint-config --endpoint-config-name "$config_name"; then
  log "endpoint config $config_name exists; reusing it"
elif is_not_found "$AWS_ERR"; then
  extra=()
  if [ -n "$serverless" ]; then
    log "create-endpoint-config $config_name (serverless, $serverless_memory MB, at most $serverless_concurrency at once, variant $variant)"
    variants="[{\"VariantName\":$(json_str "$variant"),\"ModelName\":$(json_str "$model_name"),\"ServerlessConfig\":{\"MemorySizeInMB\":$serverless_memory,\"MaxConcurrency\":$serverless_concurrency}}]"
  else
    log "create-endpoint-config $config_name ($instance_count x $instance_type, variant $variant${async_output:+, asynchronous to $async_output})"
    variants="[{\"VariantName\":$(json_str "$variant"),\"ModelName\":$(json_str "$model_name"),\"InitialInstanceCount\":$instance_count,\"InstanceType\":$(json_str "$instance_type"),\"InitialVariantWeight\":1}]"
  fi
  if [ -n "$async_output" ]; then
    output="\"S3OutputPath\":$(json_str "$async_output"),\"S3FailurePath\":$(json_str "${async_failure:-$async_output}")"
    if [ -n "$async_topics" ]; then
      output+=",\"NotificationConfig\":{\"SuccessTopic\":$(json_str "${async_topics%,*}"),\"ErrorTopic\":$(json_str "${async_topics#*,}")}"
    fi
    extra=(--async-inference-config "{\"OutputConfig\":{$output}}")
  fi
  aws_cli sagemaker create-endpoint-config --endpoint-config-name "$config_name" \
    --production-variants "$variants" ${extra[@]+"${extra[@]}"} >/dev/null
else
  die "describe-endpoint-config: $AWS_ERR"
fi

if aws_try sagemaker describe-endpoint --endpoint-name "$name"; then
  log "endpoint $name exists"
elif is_not_found "$AWS_ERR"; then
  log "create-endpoint $name"
  aws_cli sagemaker create-endpoint --endpoint-name "$name" --endpoint-config-name "$config_name" >/dev/null
else
  die "describe-endpoint: $AWS_ERR"
fi

wait_in_service "$name" "$wait_timeout"

if [ -n "$autoscale" ]; then
  # Registering again updates the target, and a policy of the same name is replaced: idempotent.
  resource="endpoint/$name/variant/$variant"
  log "autoscaling $resource: $scale_min-$scale_max instances at $scale_target invocations per instance per minute"
  aws_cli application-autoscaling register-scalable-target --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension sagemaker:variant:DesiredInstanceCount \
    --min-capacity "$scale_min" --max-capacity "$scale_max" >/dev/null
  aws_cli application-autoscaling put-scaling-policy --service-namespace sagemaker \
    --resource-id "$resource" --scalable-dimension sagemaker:variant:DesiredInstanceCount \
    --policy-name "$name-invocations-per-instance" --policy-type TargetTrackingScaling \
    --target-tracking-scaling-policy-configuration "{\"TargetValue\":$scale_target,\"PredefinedMetricSpecification\":{\"PredefinedMetricType\":\"SageMakerVariantInvocationsPerInstance\"},\"ScaleInCooldown\":$scale_in,\"ScaleOutCooldown\":$scale_out}" \
    >/dev/null
fi

if $smoke; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  printf '%s\n' "$smoke_row" > "$scratch/row.csv"
  target=()
  [ -z "$smoke_target" ] || target=(--target-model "$smoke_target")
  aws_cli sagemaker-runtime invoke-endpoint --endpoint-name "$name" ${target[@]+"${target[@]}"} \
    --content-type text/csv --accept application/json \
    --body "fileb://$scratch/row.csv" "$scratch/answer" >/dev/null
  log "smoke invoke-endpoint with [$smoke_row] answered: $(head -c 500 "$scratch/answer")"
fi
echo "$name"

#!/usr/bin/env bash
# Adds a new model to a live endpoint as a shadow variant: SageMaker replicates a share of the
# production requests to it and discards its answers, and Data Capture records both variants'
# answers so shadow-report.sh can compare them. promote.sh then makes it the production variant,
# or drops it.
#
# Usage: deploy/shadow.sh --endpoint NAME --model-name MODEL [options]
#
#   --endpoint NAME        the live endpoint (InService, one instance-based production variant)
#   --model-name MODEL     the shadow's SageMaker model; created from --image when it does not
#                          exist yet (then --role too)
#   --image URI            image for a new model, e.g. from build-and-push.sh
#   --role ARN             execution role for a new model              (env SAGEMAKER_ROLE_ARN)
#   --model-data-url S3    model.tar.gz of a new model (package-model.sh); default: the baked one
#   --env KEY=VALUE        a new model's container environment, repeatable
#   --sampling PERCENT     share of production requests replicated to the shadow, 1-100 (100)
#   --capture S3           Data Capture destination (s3://bucket/prefix/): both variants' inputs
#                          and outputs land under S3/ENDPOINT/VARIANT/yyyy/mm/dd/hh/. Without it
#                          the endpoint's current capture configuration is kept, and one is needed
#   --capture-percent N    share of requests captured, 1-100 (100)
#   --shadow-variant NAME  default Shadow
#   --instance-type TYPE   the shadow's instances, default: production's
#   --instance-count N     default: production's current count
#   --config-name NAME     the new endpoint configuration, default ENDPOINT-shadow-MODEL
#   --no-update            create the model and configuration, print the update-endpoint call
#                          instead of running it (for a change review)
#   --wait-timeout SECS    give up waiting for InService after this long, default 1800
#   --region REGION        AWS region (default: the CLI's configuration)
#   -h, --help             this text
#
# The production variant is carried over field by field with its current instance count, so the
# update changes nothing for the live traffic. Idempotent: an existing model or configuration of
# the same name is reused, and an endpoint already on the configuration is left as it is. An
# endpoint that already has a shadow is refused: promote.sh (or promote.sh --discard) it first.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SAGEMAKER] and the other aws CLI
# variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

endpoint="" model="" image="" role=${SAGEMAKER_ROLE_ARN:-} model_data="" envs=() sampling=100
capture="" capture_percent=100 shadow_variant=Shadow instance_type="" instance_count=""
config_name="" update=true wait_timeout=1800
while [ $# -gt 0 ]; do
  case $1 in
    --endpoint) need_value "$@"; endpoint=$2; shift 2 ;;
    --model-name) need_value "$@"; model=$2; shift 2 ;;
    --image) need_value "$@"; image=$2; shift 2 ;;
    --role) need_value "$@"; role=$2; shift 2 ;;
    --model-data-url) need_value "$@"; model_data=$2; shift 2 ;;
    --env) need_value "$@"; [[ $2 == ?*=* ]] || die "--env wants KEY=VALUE, got $2"; envs+=("$2"); shift 2 ;;
    --sampling) need_value "$@"; sampling=$2; shift 2 ;;
    --capture) need_value "$@"; capture=$2; shift 2 ;;
    --capture-percent) need_value "$@"; capture_percent=$2; shift 2 ;;
    --shadow-variant) need_value "$@"; shadow_variant=$2; shift 2 ;;
    --instance-type) need_value "$@"; instance_type=$2; shift 2 ;;
    --instance-count) need_value "$@"; instance_count=$2; shift 2 ;;
    --config-name) need_value "$@"; config_name=$2; shift 2 ;;
    --no-update) update=false; shift ;;
    --wait-timeout) need_value "$@"; wait_timeout=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$endpoint" ] || die "--endpoint is required (see --help)"
[ -n "$model" ] || die "--model-name is required (see --help)"
percent() {
  if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [ "$2" -gt 100 ]; then die "$1 is a whole percentage 1-100, got $2"; fi
}
percent --sampling "$sampling"
percent --capture-percent "$capture_percent"
[ -z "$capture" ] || [[ $capture == s3://?* ]] || die "--capture wants an s3:// prefix, got $capture"
[ -z "$instance_count" ] || [[ $instance_count =~ ^[1-9][0-9]*$ ]] || die "--instance-count must be a positive integer"
[[ $wait_timeout =~ ^[0-9]+$ ]] || die "--wait-timeout must be a number of seconds"
[ -z "$image" ] || [ -n "$role" ] || die "--image needs --role (the new model's execution role)"
config_name=${config_name:-$endpoint-shadow-$model}
valid_config_name "$config_name"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

aws_try sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointStatus --output text ||
  die "endpoint $endpoint: $AWS_ERR"
current=$(aws_cli sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointConfigName --output text)
if [ "$current" = "$config_name" ]; then
  log "endpoint $endpoint already runs $config_name"
  $update && wait_in_service "$endpoint" "$wait_timeout"
  exit 0
fi
[ "$AWS_OUT" = InService ] || die "endpoint $endpoint is $AWS_OUT; a shadow is added to an InService endpoint"
describe() { config_query "$current" "$1"; }
[ "$(describe "$Q_SHADOW_COUNT")" = 0 ] ||
  die "endpoint $endpoint already has shadow variant $(describe 'ShadowProductionVariants[0].VariantName'): promote.sh or promote.sh --discard it first"
[ "$(describe 'length(ProductionVariants)')" = 1 ] ||
  die "endpoint $endpoint has several production variants; SageMaker shadows exactly one"
[ "$(describe "$Q_IS_ASYNC")" = 0 ] ||
  die "endpoint $endpoint is asynchronous; SageMaker has no shadow variants for those"
[ "$(describe 'ProductionVariants[0].InstanceType')" != None ] ||
  die "endpoint $endpoint is serverless; SageMaker shadow variants need instances"
production=$(describe 'ProductionVariants[0].VariantName')
[ "$production" != "$shadow_variant" ] || die "--shadow-variant $shadow_variant is the production variant's name"
live_count=$(live_instance_count "$endpoint" "$current")

if [ -n "$image" ]; then
  container=$(container_json "$image" SingleModel "$model_data" ${envs[@]+"${envs[@]}"})
  ensure_model "$model" "$role" "$container" "$image${model_data:+, $model_data}"
else
  aws_try sagemaker describe-model --model-name "$model" ||
    die "model $model: $AWS_ERR (give --image and --role to create it)"
fi

if aws_try sagemaker describe-endpoint-config --endpoint-config-name "$config_name"; then
  log "endpoint config $config_name exists; reusing it"
elif is_not_found "$AWS_ERR"; then
  # The shadow's share is its weight relative to production's (1).
  if [ "$sampling" = 100 ]; then weight=1; else weight=$(printf '0.%02d' "$sampling"); fi
  prod_json=$(variant_json "$current" 'ProductionVariants[0]' "{\"InitialVariantWeight\":1,\"InitialInstanceCount\":$live_count}")
  overrides="\"VariantName\":$(json_str "$shadow_variant"),\"ModelName\":$(json_str "$model"),\"InitialVariantWeight\":$weight"
  overrides+=",\"InitialInstanceCount\":${instance_count:-$live_count}"
  [ -z "$instance_type" ] || overrides+=",\"InstanceType\":$(json_str "$instance_type")"
  shadow_json=$(variant_json "$current" 'ProductionVariants[0]' "{$overrides}")
  if [ -n "$capture" ]; then
    capture_json="{\"EnableCapture\":true,\"InitialSamplingPercentage\":$capture_percent,\"DestinationS3Uri\":$(json_str "$capture")"
    capture_json+=',"CaptureOptions":[{"CaptureMode":"Input"},{"CaptureMode":"Output"}]'
    # Text bodies are captured as text (not BASE64), so the captures read as they were sent.
    capture_json+=',"CaptureContentTypeHeader":{"CsvContentTypes":["text/csv"],"JsonContentTypes":["application/json","application/jsonlines"]}}'
  else
    capture_json=$(config_query "$current" DataCaptureConfig json)
    [ "$capture_json" != null ] ||
      die "endpoint $endpoint captures nothing: give --capture s3://bucket/prefix/ so the variants can be compared"
  fi
  log "create-endpoint-config $config_name (production $production, shadow $shadow_variant: model $model on $sampling % of the requests; capture to ${capture:-the destination as before})"
  aws_cli sagemaker create-endpoint-config --endpoint-config-name "$config_name" \
    --production-variants "[$prod_json]" --shadow-production-variants "[$shadow_json]" \
    --data-capture-config "$capture_json" >/dev/null
else
  die "describe-endpoint-config: $AWS_ERR"
fi

if ! $update; then
  log "not updating; to start the shadow: aws sagemaker update-endpoint --endpoint-name $endpoint --endpoint-config-name $config_name"
  exit 0
fi
update_endpoint "$endpoint" "$config_name" "$wait_timeout"
log "shadow $shadow_variant ($model) runs; compare with: deploy/shadow-report.sh --endpoint $endpoint"
log "to go back: aws sagemaker update-endpoint --endpoint-name $endpoint --endpoint-config-name $current"

#!/usr/bin/env bash
# Ends a shadow rollout (shadow.sh): the shadow variant's model becomes the production variant, or
# with --discard the shadow is dropped and production stays as it is.
#
# Usage: deploy/promote.sh --endpoint NAME [options]
#
#   --endpoint NAME        the endpoint with a shadow variant
#   --discard              drop the shadow instead of promoting it
#   --instance-count N     production instances afterwards, default: production's current count
#   --keep-capture         keep Data Capture on (default: off once the rollout ends)
#   --config-name NAME     the new endpoint configuration, default ENDPOINT-MODEL (the model that
#                          serves afterwards)
#   --no-update            create the configuration, print the update-endpoint call instead of
#                          running it (for a change review)
#   --wait-timeout SECS    give up waiting for InService after this long, default 1800
#   --region REGION        AWS region (default: the CLI's configuration)
#   -h, --help             this text
#
# The promoted model serves under the production variant's name, so autoscaling registered on it
# (create-endpoint.sh --autoscale) and alarms on the variant go on applying; it keeps the shadow's
# instance type and every other field of the shadow variant. AWS refuses an update that changes the
# instance type of an autoscaled variant, so that case is refused here first, with what to do.
# Idempotent: an existing configuration of the same name is reused, and an endpoint already on it
# is left as it is. The previous configuration is kept; the log says how to go back to it.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SAGEMAKER|_APPLICATION_AUTO_SCALING] and
# the other aws CLI variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

endpoint="" discard=false instance_count="" keep_capture=false config_name="" update=true wait_timeout=1800
while [ $# -gt 0 ]; do
  case $1 in
    --endpoint) need_value "$@"; endpoint=$2; shift 2 ;;
    --discard) discard=true; shift ;;
    --instance-count) need_value "$@"; instance_count=$2; shift 2 ;;
    --keep-capture) keep_capture=true; shift ;;
    --config-name) need_value "$@"; config_name=$2; shift 2 ;;
    --no-update) update=false; shift ;;
    --wait-timeout) need_value "$@"; wait_timeout=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$endpoint" ] || die "--endpoint is required (see --help)"
[ -z "$instance_count" ] || [[ $instance_count =~ ^[1-9][0-9]*$ ]] || die "--instance-count must be a positive integer"
[[ $wait_timeout =~ ^[0-9]+$ ]] || die "--wait-timeout must be a number of seconds"
[ -z "$config_name" ] || valid_config_name "$config_name"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

aws_try sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointStatus --output text ||
  die "endpoint $endpoint: $AWS_ERR"
status=$AWS_OUT
current=$(aws_cli sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointConfigName --output text)
describe() { config_query "$current" "$1"; }
if [ "$(describe "$Q_SHADOW_COUNT")" != 1 ]; then
  serving=$(describe 'ProductionVariants[0].ModelName')
  # Run again after it succeeded: the endpoint is where this would have put it.
  if [ "$current" = "${config_name:-$endpoint-$serving}" ]; then
    log "endpoint $endpoint already runs $current (model $serving, no shadow)"
    $update && wait_in_service "$endpoint" "$wait_timeout"
    exit 0
  fi
  die "endpoint $endpoint (configuration $current, model $serving) has no shadow variant to $($discard && echo discard || echo promote); shadow.sh adds one"
fi
[ "$status" = InService ] || die "endpoint $endpoint is $status; a rollout ends on an InService endpoint"
production=$(describe 'ProductionVariants[0].VariantName')
live_count=$(live_instance_count "$endpoint" "$current")
count=${instance_count:-$live_count}

if $discard; then
  source_path='ProductionVariants[0]'
else
  source_path='ShadowProductionVariants[0]'
  new_type=$(describe 'ShadowProductionVariants[0].InstanceType')
  old_type=$(describe 'ProductionVariants[0].InstanceType')
  if [ "$new_type" != "$old_type" ] &&
     aws_try application-autoscaling describe-scalable-targets --service-namespace sagemaker \
       --resource-ids "endpoint/$endpoint/variant/$production" --query 'length(ScalableTargets)' --output text &&
     [ "$AWS_OUT" != 0 ]; then
    die "variant $production is autoscaled and the shadow runs on $new_type, not $old_type: AWS refuses that update. Deregister the scalable target endpoint/$endpoint/variant/$production (register it again after), or shadow the model again on $old_type"
  fi
fi
model=$(describe "$source_path.ModelName")
config_name=${config_name:-$endpoint-$model}
valid_config_name "$config_name"

if aws_try sagemaker describe-endpoint-config --endpoint-config-name "$config_name"; then
  log "endpoint config $config_name exists; reusing it"
elif is_not_found "$AWS_ERR"; then
  variant=$(variant_json "$current" "$source_path" \
    "{\"VariantName\":$(json_str "$production"),\"InitialVariantWeight\":1,\"InitialInstanceCount\":$count}")
  extra=()
  if $keep_capture; then
    capture_json=$(config_query "$current" DataCaptureConfig json)
    [ "$capture_json" != null ] || die "--keep-capture: configuration $current captures nothing"
    extra=(--data-capture-config "$capture_json")
  fi
  log "create-endpoint-config $config_name (variant $production: model $model on $count instances$($keep_capture && echo ', capture kept'))"
  aws_cli sagemaker create-endpoint-config --endpoint-config-name "$config_name" \
    --production-variants "[$variant]" ${extra[@]+"${extra[@]}"} >/dev/null
else
  die "describe-endpoint-config: $AWS_ERR"
fi

if ! $update; then
  log "not updating; to end the rollout: aws sagemaker update-endpoint --endpoint-name $endpoint --endpoint-config-name $config_name"
  exit 0
fi
update_endpoint "$endpoint" "$config_name" "$wait_timeout"
if $discard; then
  log "shadow dropped; $model serves as before"
else
  log "model $model is production variant $production"
fi
log "to go back: aws sagemaker update-endpoint --endpoint-name $endpoint --endpoint-config-name $current"

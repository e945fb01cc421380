#!/usr/bin/env bash
# Deletes what create-endpoint.sh (and optionally build-and-push.sh, package-model.sh and the
# CloudFormation stack) created. Anything already gone is skipped, so it is safe to run again.
#
# Usage: deploy/teardown.sh --name NAME [options]
#
#   --name NAME              endpoint name (and model/config name unless overridden)
#                                                               (env ENDPOINT_NAME)
#   --model-name NAME        a model to delete, repeatable; default: --name
#   --config-name NAME       an endpoint configuration to delete, repeatable; default: --name.
#                            The one the endpoint runs (after shadow.sh or promote.sh) is deleted
#                            too, and the models it serves are named in the log
#   --ecr-repository NAME    also delete this ECR repository with all its images
#   --model-data-url S3      also delete this S3 object (the model.tar.gz)
#   --stack-name NAME        also delete this CloudFormation stack and wait for it
#   --region REGION          AWS region (default: the CLI's configuration)
#   -h, --help               this text
#
# With only --stack-name (no --name), only the stack is deleted.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_<SERVICE>] and the other aws CLI variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

name=${ENDPOINT_NAME:-} models=() configs=() repository="" model_data="" stack=""
while [ $# -gt 0 ]; do
  case $1 in
    --name) need_value "$@"; name=$2; shift 2 ;;
    --model-name) need_value "$@"; models+=("$2"); shift 2 ;;
    --config-name) need_value "$@"; configs+=("$2"); shift 2 ;;
    --ecr-repository) need_value "$@"; repository=$2; shift 2 ;;
    --model-data-url) need_value "$@"; model_data=$2; shift 2 ;;
    --stack-name) need_value "$@"; stack=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$name" ] || [ -n "$stack" ] || die "--name or --stack-name is required (see --help)"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

# `delete WHAT ARGS...`: runs a delete call; "not found" counts as done.
delete() {
  local what=$1; shift
  if aws_try "$@"; then
    log "deleted $what"
  elif is_not_found "$AWS_ERR"; then
    log "$what: already gone"
  else
    die "deleting $what: $AWS_ERR"
  fi
}

if [ -n "$name" ]; then
  [ ${#models[@]} -gt 0 ] || models=("$name")
  [ ${#configs[@]} -gt 0 ] || configs=("$name")
  # The configuration the endpoint runs, when a rollout moved it off the one create-endpoint.sh
  # made; the models it serves are named, not deleted (another endpoint may use them).
  if aws_try sagemaker describe-endpoint --endpoint-name "$name" --query EndpointConfigName --output text; then
    current=$AWS_OUT
    [[ " ${configs[*]} " == *" $current "* ]] || configs+=("$current")
    served=$(aws_cli sagemaker describe-endpoint-config --endpoint-config-name "$current" \
      --query '[ProductionVariants[].ModelName, ShadowProductionVariants[].ModelName][]' --output text 2>/dev/null || true)
    for model in $served; do
      [[ " ${models[*]} " == *" $model "* ]] || log "model $model (served by $name) is kept; delete it with --model-name $model"
    done
  fi
  # Autoscaling first (create-endpoint.sh --autoscale): AWS asks for the scalable target to go
  # before the endpoint. Its policies are deleted explicitly rather than left to the cascade.
  if aws_try application-autoscaling describe-scalable-targets --service-namespace sagemaker \
       --query "ScalableTargets[?starts_with(ResourceId, 'endpoint/$name/variant/')].ResourceId" --output text; then
    for resource in $AWS_OUT; do
      aws_try application-autoscaling describe-scaling-policies --service-namespace sagemaker \
        --resource-id "$resource" --query 'ScalingPolicies[].PolicyName' --output text || true
      for policy in $AWS_OUT; do
        delete "scaling policy $policy" application-autoscaling delete-scaling-policy \
          --service-namespace sagemaker --resource-id "$resource" --policy-name "$policy" \
          --scalable-dimension sagemaker:variant:DesiredInstanceCount
      done
      delete "autoscaling of $resource" application-autoscaling deregister-scalable-target \
        --service-namespace sagemaker --resource-id "$resource" \
        --scalable-dimension sagemaker:variant:DesiredInstanceCount
    done
  fi
  delete "endpoint $name" sagemaker delete-endpoint --endpoint-name "$name"
  # The endpoint config and model may go while the endpoint is Deleting, but wait so that a
  # following create-endpoint.sh of the same name does not race the deletion.
  for _ in $(seq 1 120); do
    aws_try sagemaker describe-endpoint --endpoint-name "$name" || break
    log "endpoint $name is $(aws_cli sagemaker describe-endpoint --endpoint-name "$name" --query EndpointStatus --output text 2>/dev/null || echo gone); waiting"
    sleep 10
  done
  for config in "${configs[@]}"; do
    delete "endpoint config $config" sagemaker delete-endpoint-config --endpoint-config-name "$config"
  done
  for model in "${models[@]}"; do
    delete "model $model" sagemaker delete-model --model-name "$model"
  done
fi
if [ -n "$repository" ]; then
  delete "ECR repository $repository" ecr delete-repository --repository-name "$repository" --force
fi
if [ -n "$model_data" ]; then
  # S3 deletes of a missing key succeed, so this is idempotent as it stands.
  delete "$model_data" s3 rm "$model_data"
fi
if [ -n "$stack" ]; then
  delete "stack $stack (requested)" cloudformation delete-stack --stack-name "$stack"
  aws_cli cloudformation wait stack-delete-complete --stack-name "$stack"
  log "stack $stack deleted"
fi

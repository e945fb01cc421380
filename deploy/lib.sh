# Shared by the deploy scripts; sourced, never run.
#
# The scripts talk to AWS only through the aws CLI and to images only through the docker CLI, so
# the usual environment applies unchanged: AWS_PROFILE, AWS_REGION / AWS_DEFAULT_REGION,
# AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (aws CLI >= 1.31 / 2.13), DOCKER_HOST.
# AWS_CLI and DOCKER name other binaries for the two CLIs.

# shellcheck disable=SC2034  # globals for the scripts that source this file
set -euo pipefail

PROG=$(basename "$0")
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AWS_BIN=${AWS_CLI:-aws}
DOCKER_BIN=${DOCKER:-docker}
AWS_ARGS=()

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The usage text is the comment block at the top of the script (after the shebang).
usage() { sed -n '2,/^[^#]/{/^#/!d;s/^# \{0,1\}//;p}' "$0"; }

# `need_value FLAG "$@"`: a flag's value must be present.
need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }

aws_cli() { "$AWS_BIN" "${AWS_ARGS[@]}" "$@"; }

# `set_region R` makes every aws call use region R.
set_region() { AWS_ARGS+=(--region "$1"); }

# True when an aws call failed only because the resource does not exist.
is_not_found() { grep -qiE 'not found|does not exist|could not find|NoSuch|RepositoryNotFound' <<<"$1"; }

require() { command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH${2:+ ($2)}"; }

# `aws_try ARGS...`: runs an aws call without dying; its stdout lands in AWS_OUT, its stderr in
# AWS_ERR, and the status is the CLI's.
AWS_OUT="" AWS_ERR=""
aws_try() {
  local errfile rc=0
  errfile=$(mktemp)
  AWS_OUT=$(aws_cli "$@" 2>"$errfile") || rc=$?
  AWS_ERR=$(cat "$errfile")
  rm -f "$errfile"
  return "$rc"
}

# `json_str S`: S as a JSON string literal.
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# `wait_in_service NAME TIMEOUT`: polls endpoint NAME until it is InService (creating or updating),
# reporting progress; dies on Failed or OutOfService with SageMaker's reason, or after TIMEOUT s.
# Polls rather than `aws sagemaker wait endpoint-in-service` to stop at once on a failure.
wait_in_service() {
  local name=$1 deadline=$((SECONDS + $2)) status reason
  while :; do
    status=$(aws_cli sagemaker describe-endpoint --endpoint-name "$name" --query EndpointStatus --output text)
    case $status in
      InService) log "endpoint $name is InService"; return 0 ;;
      Failed|OutOfService)
        reason=$(aws_cli sagemaker describe-endpoint --endpoint-name "$name" --query FailureReason --output text)
        die "endpoint $name is $status: $reason" ;;
    esac
    [ "$SECONDS" -lt "$deadline" ] || die "endpoint $name still $status after ${2}s"
    log "endpoint $name is $status; waiting"
    sleep 15
  done
}

# `update_endpoint NAME CONFIG TIMEOUT`: moves endpoint NAME to endpoint configuration CONFIG and
# waits until it serves from it; nothing is sent when it already does.
update_endpoint() {
  local name=$1 config=$2 current
  current=$(aws_cli sagemaker describe-endpoint --endpoint-name "$name" --query EndpointConfigName --output text)
  if [ "$current" = "$config" ]; then
    log "endpoint $name already runs $config"
  else
    log "update-endpoint $name: $current -> $config"
    aws_cli sagemaker update-endpoint --endpoint-name "$name" --endpoint-config-name "$config" >/dev/null
  fi
  wait_in_service "$name" "$3"
}

# `container_json IMAGE MODE MODEL_DATA [KEY=VALUE...]`: a SageMaker container definition as JSON
# (MODE SingleModel or MultiModel, MODEL_DATA an S3 URL or empty), so environment values may hold
# any character.
container_json() {
  local image=$1 mode=$2 model_data=$3 env_json="" sep="" kv out
  shift 3
  for kv in "$@"; do
    env_json+="$sep$(json_str "${kv%%=*}"):$(json_str "${kv#*=}")"; sep=","
  done
  out="{\"Image\":$(json_str "$image"),\"Mode\":\"$mode\",\"Environment\":{$env_json}"
  [ -z "$model_data" ] || out+=",\"ModelDataUrl\":$(json_str "$model_data")"
  printf '%s}' "$out"
}

# `ensure_model NAME ROLE CONTAINER_JSON DESCRIPTION`: creates SageMaker model NAME unless it
# exists (models are immutable: an existing one is reused as it is).
ensure_model() {
  if aws_try sagemaker describe-model --model-name "$1"; then
    log "model $1 exists; reusing it"
  elif is_not_found "$AWS_ERR"; then
    log "create-model $1 ($4)"
    aws_cli sagemaker create-model --model-name "$1" --execution-role-arn "$2" \
      --primary-container "$3" >/dev/null
  else
    die "describe-model: $AWS_ERR"
  fi
}

# `config_query CONFIG QUERY [FORMAT]`: a JMESPath query of endpoint configuration CONFIG, printed
# as FORMAT (text by default; json gives `null` for what the configuration lacks).
config_query() {
  aws_cli sagemaker describe-endpoint-config --endpoint-config-name "$1" --query "$2" --output "${3:-text}"
}

# `live_instance_count ENDPOINT CONFIG`: the production variant's current instance count
# (autoscaling may have moved it away from CONFIG's), else the one CONFIG asks for.
live_instance_count() {
  local n
  n=$(aws_cli sagemaker describe-endpoint --endpoint-name "$1" \
    --query 'ProductionVariants[0].CurrentInstanceCount' --output text)
  [[ $n =~ ^[0-9]+$ ]] || n=$(config_query "$2" 'ProductionVariants[0].InitialInstanceCount')
  echo "$n"
}

# `variant_json CONFIG PATH OVERRIDES`: the variant at PATH of endpoint configuration CONFIG (e.g.
# ProductionVariants[0]) as JSON, with the JSON object OVERRIDES merged over it: every field the
# variant has (timeouts, volume size, ...) is carried over unchanged.
variant_json() { config_query "$1" "merge($2, \`$3\`)" json; }

# `valid_config_name NAME`: dies unless NAME is a valid endpoint configuration name.
valid_config_name() {
  [[ $1 =~ ^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$ && ${#1} -le 63 ]] ||
    die "endpoint configuration name $1 is not 1-63 letters, digits and inner hyphens: choose one with --config-name"
}

# JMESPath queries of an endpoint configuration (the backticks are JMESPath literals).
# shellcheck disable=SC2016
Q_SHADOW_COUNT='length(ShadowProductionVariants || `[]`)' Q_IS_ASYNC='AsyncInferenceConfig && `1` || `0`'

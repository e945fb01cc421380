#!/usr/bin/env bash
# Scores an S3 prefix of CSV or JSON Lines files with a SageMaker Batch Transform job on a model
# that create-endpoint.sh (or the template) created, waits for it and reports. SageMaker splits
# each file into lines (SplitType=Line), packs as many lines as fit MaxPayloadInMB into each
# request (BatchStrategy=MultiRecord), and writes <file>.out under the output prefix with one answer
# line per input line (AssembleWith=Line); --join-input puts each input line in front of its answer.
# The container is asked GET /execution-parameters first; isoserve answers with its own limits.
#
# Usage: deploy/batch-transform.sh --name JOB --model MODEL --input S3_PREFIX --output S3_PREFIX [options]
#
#   --name JOB             transform job name (unique in the account and region)
#   --model MODEL          SageMaker model name (e.g. the endpoint's, from create-endpoint.sh)
#   --input S3_PREFIX      s3://bucket/prefix/ of the files to score
#   --output S3_PREFIX     s3://bucket/prefix/ for the answers (<file>.out)
#   --content-type TYPE    text/csv (default) or application/jsonlines
#   --accept TYPE          answer type, default: text/csv for CSV input, application/jsonlines
#                          for JSON Lines (one answer line per input line either way)
#   --join-input           each output line is the input line joined with its answer
#   --instance-type TYPE   default ml.m5.large
#   --instance-count N     default 1 (SageMaker spreads the files across the instances)
#   --max-payload-mb M     1-100, default 6
#   --max-concurrent N     requests per instance at once (default: what the container says in
#                          /execution-parameters)
#   --no-wait              create the job and return
#   --wait-timeout SECS    default 21600
#   --region REGION        AWS region (default: the CLI's configuration)
#   -h, --help             this text
#
# Idempotent: a job of the same name is not created again; it is waited for and reported.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SAGEMAKER] and the other aws CLI variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

name="" model="" input="" output="" content_type=text/csv accept="" join=false
instance_type=ml.m5.large instance_count=1 max_payload=6 max_concurrent="" wait=true wait_timeout=21600
while [ $# -gt 0 ]; do
  case $1 in
    --name) need_value "$@"; name=$2; shift 2 ;;
    --model) need_value "$@"; model=$2; shift 2 ;;
    --input) need_value "$@"; input=$2; shift 2 ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --content-type) need_value "$@"; content_type=$2; shift 2 ;;
    --accept) need_value "$@"; accept=$2; shift 2 ;;
    --join-input) join=true; shift ;;
    --instance-type) need_value "$@"; instance_type=$2; shift 2 ;;
    --instance-count) need_value "$@"; instance_count=$2; shift 2 ;;
    --max-payload-mb) need_value "$@"; max_payload=$2; shift 2 ;;
    --max-concurrent) need_value "$@"; max_concurrent=$2; shift 2 ;;
    --no-wait) wait=false; shift ;;
    --wait-timeout) need_value "$@"; wait_timeout=$2; shift 2 ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
for required in name model input output; do
  [ -n "${!required}" ] || die "--$required is required (see --help)"
done
[[ $input == s3://?*/ ]] || die "--input must be an s3://bucket/prefix/ ending in /, got $input"
[[ $output == s3://?*/ ]] || die "--output must be an s3://bucket/prefix/ ending in /, got $output"
case $content_type in
  text/csv) accept=${accept:-text/csv} ;;
  application/jsonlines) accept=${accept:-application/jsonlines} ;;
  *) die "--content-type is text/csv or application/jsonlines (one record per line), got $content_type" ;;
esac
case $accept in
  text/csv|application/jsonlines) ;;
  *) die "--accept is text/csv or application/jsonlines (one answer line per input line), got $accept" ;;
esac
[[ $instance_count =~ ^[1-9][0-9]*$ ]] || die "--instance-count must be a positive integer"
if ! [[ $max_payload =~ ^[0-9]+$ ]] || [ "$max_payload" -lt 1 ] || [ "$max_payload" -gt 100 ]; then
  die "--max-payload-mb is 1 to 100 (Batch Transform's range), got $max_payload"
fi
[ -z "$max_concurrent" ] || [[ $max_concurrent =~ ^[1-9][0-9]*$ ]] || die "--max-concurrent must be a positive integer"
[[ $wait_timeout =~ ^[0-9]+$ ]] || die "--wait-timeout must be a number of seconds"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

if aws_try sagemaker describe-transform-job --transform-job-name "$name"; then
  log "transform job $name exists; not creating it again"
elif is_not_found "$AWS_ERR"; then
  args=(--transform-job-name "$name" --model-name "$model" --max-payload-in-mb "$max_payload"
    --batch-strategy MultiRecord
    --transform-input "{\"DataSource\":{\"S3DataSource\":{\"S3DataType\":\"S3Prefix\",\"S3Uri\":$(json_str "$input")}},\"ContentType\":$(json_str "$content_type"),\"SplitType\":\"Line\"}"
    --transform-output "{\"S3OutputPath\":$(json_str "$output"),\"Accept\":$(json_str "$accept"),\"AssembleWith\":\"Line\"}"
    --transform-resources "{\"InstanceType\":$(json_str "$instance_type"),\"InstanceCount\":$instance_count}")
  [ -z "$max_concurrent" ] || args+=(--max-concurrent-transforms "$max_concurrent")
  $join && args+=(--data-processing '{"JoinSource":"Input"}')
  log "create-transform-job $name ($model on $input -> $output, $instance_count x $instance_type, up to $max_payload MB per request)"
  aws_cli sagemaker create-transform-job "${args[@]}" >/dev/null
else
  die "describe-transform-job: $AWS_ERR"
fi
$wait || { echo "$name"; exit 0; }

deadline=$((SECONDS + wait_timeout)) started=$SECONDS
while :; do
  status=$(aws_cli sagemaker describe-transform-job --transform-job-name "$name" --query TransformJobStatus --output text)
  case $status in
    Completed) log "transform job $name completed in about $((SECONDS - started)) s; answers under $output"; break ;;
    Failed|Stopped)
      reason=$(aws_cli sagemaker describe-transform-job --transform-job-name "$name" --query FailureReason --output text)
      die "transform job $name is $status: $reason" ;;
  esac
  [ "$SECONDS" -lt "$deadline" ] || die "transform job $name still $status after ${wait_timeout}s"
  log "transform job $name is $status; waiting"
  sleep 30
done
echo "$name"

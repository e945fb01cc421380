#!/usr/bin/env bash
# Compares a shadow variant with production from the endpoint's Data Capture files: downloads both
# variants' captures and runs `trainer shadow-compare` on them, which pairs the two answers to each
# request and reports the agreement of the anomaly flags and the score drift.
#
# Usage: deploy/shadow-report.sh --endpoint NAME [options]
#
#   --endpoint NAME          the endpoint (shadow.sh)
#   --capture S3             Data Capture destination, default: the endpoint's
#   --production-variant V   default: the endpoint's production variant
#   --shadow-variant V       default: the endpoint's shadow variant (give it after promote.sh)
#   --period yyyy/mm/dd[/hh] only the captures of that day or hour (UTC)
#   --dir DIR                download into DIR and keep it (default: a temporary directory)
#   --shape SHAPE            the answers' ISOSERVE_OUTPUT_FORMAT: native (default), rcf, sklearn
#   --min-agreement SHARE    exit 1 when the flags agree on less than SHARE (0-1) of the rows
#   --json                   the report as JSON
#   --region REGION          AWS region (default: the CLI's configuration)
#   -h, --help               this text
#
# Captures live under S3/ENDPOINT/VARIANT/yyyy/mm/dd/hh/*.jsonl. The trainer binary is TRAINER,
# else `trainer` on PATH, else this checkout's target/release/trainer.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_SAGEMAKER|_S3] and the other aws CLI
# variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

endpoint="" capture="" production="" shadow="" period="" dir="" compare_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --endpoint) need_value "$@"; endpoint=$2; shift 2 ;;
    --capture) need_value "$@"; capture=$2; shift 2 ;;
    --production-variant) need_value "$@"; production=$2; shift 2 ;;
    --shadow-variant) need_value "$@"; shadow=$2; shift 2 ;;
    --period) need_value "$@"; period=$2; shift 2 ;;
    --dir) need_value "$@"; dir=$2; shift 2 ;;
    --shape|--min-agreement) need_value "$@"; compare_args+=("$1" "$2"); shift 2 ;;
    --json) compare_args+=(--json); shift ;;
    --region) need_value "$@"; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$endpoint" ] || die "--endpoint is required (see --help)"
[ -z "$capture" ] || [[ $capture == s3://?* ]] || die "--capture wants an s3:// prefix, got $capture"
[ -z "$period" ] || [[ $period =~ ^[0-9]{4}/[0-9]{2}/[0-9]{2}(/[0-9]{2})?$ ]] ||
  die "--period wants yyyy/mm/dd or yyyy/mm/dd/hh, got $period"
trainer=${TRAINER:-}
if [ -z "$trainer" ]; then
  trainer=$(command -v trainer || echo "$REPO_ROOT/target/release/trainer")
fi
[ -x "$trainer" ] || die "no trainer binary: set TRAINER, put trainer on PATH or cargo build --release"
require "$AWS_BIN" "set AWS_CLI to the aws CLI"

if [ -z "$capture" ] || [ -z "$production" ] || [ -z "$shadow" ]; then
  aws_try sagemaker describe-endpoint --endpoint-name "$endpoint" --query EndpointConfigName --output text ||
    die "endpoint $endpoint: $AWS_ERR"
  config=$AWS_OUT
  describe() { config_query "$config" "$1"; }
  capture=${capture:-$(describe DataCaptureConfig.DestinationS3Uri)}
  production=${production:-$(describe 'ProductionVariants[0].VariantName')}
  if [ -z "$shadow" ]; then
    [ "$(describe "$Q_SHADOW_COUNT")" = 1 ] ||
      die "endpoint $endpoint has no shadow variant now (promoted or discarded?): give --shadow-variant"
    shadow=$(describe 'ShadowProductionVariants[0].VariantName')
  fi
fi
[ "$capture" != None ] || die "endpoint $endpoint captures nothing: give --capture"

if [ -z "$dir" ]; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi
for side in production shadow; do
  variant=${!side}
  from="${capture%/}/$endpoint/$variant/${period:+$period/}"
  log "downloading $side ($variant) captures from $from"
  aws_cli s3 sync --only-show-errors --exclude '*' --include '*.jsonl' "$from" "$dir/$side"
  [ -n "$(find "$dir/$side" -name '*.jsonl' -print -quit 2>/dev/null)" ] || die "no captures under $from"
done
"$trainer" --quiet shadow-compare --production "$dir/production" --shadow "$dir/shadow" \
  ${compare_args[@]+"${compare_args[@]}"}

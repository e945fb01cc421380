#!/usr/bin/env bash
# Packages a model file as the model.tar.gz SageMaker unpacks into /opt/ml/model (the file is
# stored as model.isof at the archive root, the name the server looks for first) and uploads it.
# Prints the S3 URL to give CreateModel as ModelDataUrl as the last line on stdout.
#
# Usage: deploy/package-model.sh --model FILE (--s3-uri s3://BUCKET/PREFIX | --output FILE) [options]
#
#   --model FILE        the .isof model file (e.g. from `trainer train` or `isoserve train`)
#   --s3-uri URI        upload to URI; a URI ending in / gets model.tar.gz appended
#                       (env MODEL_S3_URI)
#   --create-bucket     create the bucket when it does not exist
#   --output FILE       also (or only, without --s3-uri) keep the archive at FILE
#   --region REGION     AWS region (default: the CLI's configuration)
#   -h, --help          this text
#
# Idempotent: uploading again overwrites the object with the same content.
# Environment: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_S3] and the other aws CLI variables.
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

model="" s3_uri=${MODEL_S3_URI:-} create_bucket=false output="" region=""
while [ $# -gt 0 ]; do
  case $1 in
    --model) need_value "$@"; model=$2; shift 2 ;;
    --s3-uri) need_value "$@"; s3_uri=$2; shift 2 ;;
    --create-bucket) create_bucket=true; shift ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --region) need_value "$@"; region=$2; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$model" ] || die "--model is required (see --help)"
[ -f "$model" ] || die "model $model not found"
[ -n "$s3_uri" ] || [ -n "$output" ] || die "give --s3-uri or --output (see --help)"
case $s3_uri in ""|s3://?*) ;; *) die "--s3-uri must look like s3://bucket/prefix, got $s3_uri" ;; esac
[[ $s3_uri == */ ]] && s3_uri="${s3_uri}model.tar.gz"

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir "$staging/content"
cp "$model" "$staging/content/model.isof"
# Stable metadata, so the same model always gives the same archive.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
  -C "$staging/content" -cf - model.isof | gzip -n -9 > "$staging/model.tar.gz"
log "packaged $model ($(stat -c %s "$staging/model.tar.gz") bytes)"
if [ -n "$output" ]; then
  cp "$staging/model.tar.gz" "$output"
  log "wrote $output"
fi
[ -n "$s3_uri" ] || exit 0

require "$AWS_BIN" "set AWS_CLI to the aws CLI"
bucket=${s3_uri#s3://}; bucket=${bucket%%/*}
if ! aws_try s3api head-bucket --bucket "$bucket"; then
  $create_bucket || die "bucket $bucket not reachable (pass --create-bucket to create it): $AWS_ERR"
  log "creating bucket $bucket"
  # us-east-1 is the one region that rejects a LocationConstraint.
  region=${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws_cli configure get region || true)}}}
  region=${region:-us-east-1}
  if [ "$region" = us-east-1 ]; then
    aws_cli s3api create-bucket --bucket "$bucket" >/dev/null
  else
    aws_cli s3api create-bucket --bucket "$bucket" \
      --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
fi
aws_cli s3 cp --only-show-errors "$staging/model.tar.gz" "$s3_uri" >&2
log "uploaded $s3_uri"
echo "$s3_uri"

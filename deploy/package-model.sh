#!/usr/bin/env bash
# Packages a model file as the model.tar.gz SageMaker unpacks into /opt/ml/model (the file is
# stored as model.isof at the archive root, the name the server looks for first) and uploads it.
# Prints the S3 URL to give CreateModel as ModelDataUrl as the last line on stdout.
#
# With --models-dir, packages every model of a directory (`trainer train --group-by` writes one
# <entity>.isof per entity) as its own <entity>.tar.gz under one S3 prefix: the ModelDataUrl of a
# multi-model endpoint, which loads <prefix><entity>.tar.gz when a request names
# TargetModel=<entity>.tar.gz. Prints the prefix as the last line.
#
# Usage: deploy/package-model.sh --model FILE (--s3-uri s3://BUCKET/PREFIX | --output FILE) [options]
#        deploy/package-model.sh --models-dir DIR (--s3-uri s3://BUCKET/PREFIX/ | --output DIR) [options]
#
#   --model FILE        the .isof model file (e.g. from `trainer train` or `isoserve train`)
#   --models-dir DIR    every *.isof in DIR, each as <name>.tar.gz (--s3-uri is then a prefix
#                       ending in /, --output a directory)
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

model="" models_dir="" s3_uri=${MODEL_S3_URI:-} create_bucket=false output="" region=""
while [ $# -gt 0 ]; do
  case $1 in
    --model) need_value "$@"; model=$2; shift 2 ;;
    --models-dir) need_value "$@"; models_dir=$2; shift 2 ;;
    --s3-uri) need_value "$@"; s3_uri=$2; shift 2 ;;
    --create-bucket) create_bucket=true; shift ;;
    --output) need_value "$@"; output=$2; shift 2 ;;
    --region) need_value "$@"; region=$2; set_region "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$model" ] || [ -n "$models_dir" ] || die "--model or --models-dir is required (see --help)"
[ -z "$model" ] || [ -z "$models_dir" ] || die "give --model or --models-dir, not both"
[ -n "$s3_uri" ] || [ -n "$output" ] || die "give --s3-uri or --output (see --help)"
case $s3_uri in ""|s3://?*) ;; *) die "--s3-uri must look like s3://bucket/prefix, got $s3_uri" ;; esac

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# `archive MODEL TARBALL`: MODEL stored as model.isof, with stable metadata so that the same
# model always gives the same archive.
archive() {
  rm -rf "$staging/content" && mkdir "$staging/content"
  cp "$1" "$staging/content/model.isof"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$staging/content" -cf - model.isof | gzip -n -9 > "$2"
}

if [ -n "$models_dir" ]; then
  [ -d "$models_dir" ] || die "models directory $models_dir not found"
  [ -z "$s3_uri" ] || [[ $s3_uri == */ ]] || die "--s3-uri must be a prefix ending in / with --models-dir, got $s3_uri"
  mkdir "$staging/out"
  count=0
  for file in "$models_dir"/*.isof; do
    [ -f "$file" ] || continue
    name=$(basename "$file" .isof)
    archive "$file" "$staging/out/$name.tar.gz"
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || die "no .isof file in $models_dir"
  log "packaged $count models from $models_dir"
  if [ -n "$output" ]; then
    mkdir -p "$output"
    cp "$staging/out/"*.tar.gz "$output/"
    log "wrote $count archives to $output"
  fi
  upload_from="$staging/out"
else
  [ -f "$model" ] || die "model $model not found"
  [[ $s3_uri == */ ]] && s3_uri="${s3_uri}model.tar.gz"
  archive "$model" "$staging/model.tar.gz"
  log "packaged $model ($(stat -c %s "$staging/model.tar.gz") bytes)"
  if [ -n "$output" ]; then
    cp "$staging/model.tar.gz" "$output"
    log "wrote $output"
  fi
  upload_from=""
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
if [ -n "$upload_from" ]; then
  # One request per archive; `s3 cp --recursive` uploads them concurrently.
  aws_cli s3 cp --only-show-errors --recursive "$upload_from/" "$s3_uri" >&2
  log "uploaded $count models under $s3_uri"
else
  aws_cli s3 cp --only-show-errors "$staging/model.tar.gz" "$s3_uri" >&2
  log "uploaded $s3_uri"
fi
echo "$s3_uri"
